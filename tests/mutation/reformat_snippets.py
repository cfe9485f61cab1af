#!/usr/bin/python3
"""Brings tests/mutation/mutations.txt back in line after the code's layout
changed (scripts/format.sh), so that `tests/mutation/run --check` passes.

Each mutation's find: snippet must occur exactly once, verbatim, in its file.
A change of layout only moves white space, so the snippet is found again
with white space ignored (its other characters, in order, exactly once in
the file); its new text is what the file now holds there. Its replace: text
is then laid out the same way: the mutant (the formatted file with the
replacement put in) is run through clang-format, and find: and replace:
become the stretch where the formatted file and the formatted mutant
differ, widened to cover the found snippet. Applying the new mutation to the
formatted file thus gives the formatted mutant. A mutation whose snippet
still occurs verbatim is left as it is.

    tests/mutation/reformat_snippets.py            rewrite mutations.txt
    tests/mutation/reformat_snippets.py --dry-run  only say what would change

Exits 1 when a snippet is not found exactly once (it says which); the list
is then left as it was.
"""
import argparse
import importlib.machinery
import importlib.util
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
LIST = os.path.join(HERE, 'mutations.txt')


def load_runner():
    """tests/mutation/run as a module, for its parser of the list."""
    loader = importlib.machinery.SourceFileLoader('mutation_run', os.path.join(HERE, 'run'))
    spec = importlib.util.spec_from_loader('mutation_run', loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def clang_format_tool():
    """The clang-format scripts/format.sh uses (scripts/format-common.sh)."""
    out = subprocess.run(['bash', '-c', '. scripts/format-common.sh && kvsp_clang_format'],
                         cwd=REPO, stdout=subprocess.PIPE, universal_newlines=True)
    if out.returncode != 0:
        sys.exit('reformat_snippets.py: no clang-format 14')
    return out.stdout.strip()


def clang_format(tool, text, path):
    return subprocess.run([tool, '--style=file', '--assume-filename=' + path], cwd=REPO,
                          input=text, stdout=subprocess.PIPE, universal_newlines=True,
                          check=True).stdout


def find_ignoring_space(snippet, text):
    """The [start, end) of text that is snippet but for white space, or
    None when that is not exactly one place. Leading and trailing white
    space of the snippet (an indentation) takes the blanks of its line."""
    core = snippet.strip()
    if not core:
        return None
    chars, where = [], []
    for i, c in enumerate(text):
        if not c.isspace():
            chars.append(c)
            where.append(i)
    flat = ''.join(chars)
    needle = re.sub(r'\s+', '', core)
    first = flat.find(needle)
    if first < 0 or flat.find(needle, first + 1) >= 0:
        return None
    start, end = where[first], where[first + len(needle) - 1] + 1
    lead = snippet[:len(snippet) - len(snippet.lstrip())]
    trail = snippet[len(snippet.rstrip()):]
    if lead:
        while start > 0 and text[start - 1] in ' \t':
            start -= 1
        for _ in range(lead.count('\n')):
            if start > 0 and text[start - 1] == '\n':
                start -= 1
    if trail:
        for _ in range(trail.count('\n')):
            if end < len(text) and text[end] == '\n':
                end += 1
        if not trail.endswith('\n'):
            while end < len(text) and text[end] in ' \t':
                end += 1
    return start, end


def relaid(tool, mu, text):
    """(find, replace) for the formatted file text, or an error string."""
    found = find_ignoring_space(mu.find, text)
    if found is None:
        return 'its snippet is not in %s exactly once, white space aside' % mu.file
    start, end = found
    mutant = clang_format(tool, text[:start] + mu.replace + text[end:], mu.file)
    # The stretch where text and mutant differ: a common head and tail.
    head = 0
    limit = min(len(text), len(mutant))
    while head < limit and text[head] == mutant[head]:
        head += 1
    tail = 0
    while tail < limit - head and text[-1 - tail] == mutant[-1 - tail]:
        tail += 1
    lo = min(start, head)
    hi = max(end, len(text) - tail)
    if '\n' in text[lo:hi]:
        # Lines of '|' read best whole: the first from its indentation.
        while lo > 0 and text[lo - 1] in ' \t':
            lo -= 1
    find = text[lo:hi]
    replace = mutant[lo:len(mutant) - (len(text) - hi)]
    if text.count(find) != 1:
        return 'its new snippet is not in %s exactly once' % mu.file
    return find, replace


def field_spans(lines):
    """{(id, key): (first line index, end line index)} of every find: and
    replace: field, its '|' lines included."""
    spans = {}
    current = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r'^\[([^\]]*)\]\s*$', line.strip())
        if m and not line.startswith('|'):
            current = m.group(1)
        m = re.match(r'^(find|replace):(.*)$', line)
        if m and current is not None:
            j = i + 1
            if not m.group(2).strip():
                while j < len(lines) and lines[j].startswith('|'):
                    j += 1
            spans[(current, m.group(1))] = (i, j)
            i = j
            continue
        i += 1
    return spans


def field_lines(key, value, was_block):
    """The list's lines for key: value, inline when it can be (no newline,
    no blanks at either end; a field that was '|' lines stays so)."""
    if not was_block and '\n' not in value and value == value.strip() and value:
        return ['%s: %s' % (key, value)]
    if value == '':
        return ['%s:' % key]
    return ['%s:' % key] + ['|' + part for part in value.split('\n')]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dry-run', action='store_true', help='only say what would change')
    parser.add_argument('--list', default=LIST, help='the list (default: %(default)s)')
    args = parser.parse_args()
    runner = load_runner()
    mutations = runner.parse_list(args.list)
    tool = clang_format_tool()
    texts = {}
    changes, problems = {}, []
    for mu in mutations:
        path = os.path.join(REPO, mu.file)
        if mu.file not in texts:
            if not os.path.isfile(path):
                problems.append('[%s]: no file %s' % (mu.id, mu.file))
                continue
            with open(path, encoding='utf-8') as f:
                texts[mu.file] = f.read()
        text = texts[mu.file]
        if text.count(mu.find) == 1:
            continue
        result = relaid(tool, mu, text)
        if isinstance(result, str):
            problems.append('[%s]: %s' % (mu.id, result))
            continue
        changes[mu.id] = result
    if problems:
        for p in problems:
            print(p, file=sys.stderr)
        print('mutations.txt left as it was', file=sys.stderr)
        return 1
    with open(args.list, encoding='utf-8') as f:
        lines = f.read().split('\n')
    spans = field_spans(lines)
    # Rewritten from the bottom up, so that the spans above stay valid.
    edits = []
    for ident, (find, replace) in changes.items():
        for key, value in (('find', find), ('replace', replace)):
            first, end = spans[(ident, key)]
            was_block = end - first > 1 or lines[first].strip() == key + ':'
            edits.append((first, end, field_lines(key, value, was_block)))
    for first, end, new in sorted(edits, reverse=True):
        lines[first:end] = new
    for ident in sorted(changes):
        print('relaid: [%s]' % ident)
    print('%d of %d mutations relaid' % (len(changes), len(mutations)))
    if not args.dry_run and changes:
        with open(args.list, 'w', encoding='utf-8') as f:
            f.write('\n'.join(lines))
        # What the runner reads back must be what was meant.
        again = {mu.id: mu for mu in runner.parse_list(args.list)}
        for ident, (find, replace) in changes.items():
            if again[ident].find != find or again[ident].replace != replace:
                sys.exit('reformat_snippets.py: [%s] did not read back as written' % ident)
    return 0


if __name__ == '__main__':
    sys.exit(main())
