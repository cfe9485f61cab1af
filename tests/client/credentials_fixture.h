/* What tests/client/test_credentials.c runs against: the fake metadata
 * server (tests/client/fake_metadata_server.py, a child process on
 * 127.0.0.1) and a scratch directory for the tests' HOMEs and files. */
#ifndef KVSP_TESTS_CREDENTIALS_FIXTURE_H
#define KVSP_TESTS_CREDENTIALS_FIXTURE_H

/* The server accepts this Authorization for its ECS endpoints. */
#define ECS_TOKEN "Bearer ecs-S3CR3T-auth"

extern char base[64];        /* the server: http://127.0.0.1:PORT */
extern char tmpdir[];        /* the scratch directory */
extern char empty_home[300]; /* tmpdir/empty: a HOME with no .aws */

/* Makes the scratch directory and starts the server with PYTHON; 0 on
 * success, else -1 with nothing left behind (the reason on stderr). */
int cred_fixture_start(const char *python, const char *server_script);
/* Stops the server and removes the scratch directory. */
void cred_fixture_stop(void);

#endif
