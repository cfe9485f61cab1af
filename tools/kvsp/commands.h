#ifndef KVSP_COMMANDS_H
#define KVSP_COMMANDS_H

/* Each takes argv with argv[0] being the subcommand name; returns the exit status. */
int cmd_inspect(int argc, char **argv);

#endif
