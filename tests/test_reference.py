"""docs/reference.md and docs/guide.md say what the code does: the options
of --help, the man page and the reference are the same set; every config
key of src/config.c and every exit code of src/exitcodes.h is in the
reference; every flag the guide mentions exists."""
import os
import re

import lw

DOCS = os.path.join(lw.ROOT, "docs")
MAN = os.path.join(DOCS, "leasewrap.1")
REFERENCE = os.path.join(DOCS, "reference.md")
GUIDE = os.path.join(DOCS, "guide.md")
SRC = os.path.join(lw.ROOT, "src")

# A long option as written in text: "--name", not part of a longer word.
FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def help_options():
    r = lw.run(["--help"])
    assert r.returncode == 0, r.stderr
    return set(FLAG.findall(r.stdout))


def man_options():
    # mdoc writes a long option as "Fl \-name".
    return {"--" + m for m in re.findall(r"Fl \\-([a-z][a-z0-9-]*)",
                                          read(MAN))}


def doc_options(path):
    return set(FLAG.findall(read(path)))


def config_keys():
    src = read(os.path.join(SRC, "config.c"))
    table = src[src.index("opts[O_COUNT] = {"):]
    table = table[:table.index("};")]
    keys = set(re.findall(r'K_[A-Z]+, "([a-z_]+)" \}', table))
    keys |= set(re.findall(r"STR\(([a-z_]+)\) \}", table))
    return keys | {"secret", "command"}


def exit_codes():
    text = read(os.path.join(SRC, "exitcodes.h"))
    return {int(n) for n in re.findall(r"#define LW_EXIT_\w+\s+(\d+)", text)}


def reference_exit_table():
    """The codes in the first column of the table under '## Exit status'."""
    text = read(REFERENCE)
    section = text[text.index("## Exit status"):]
    codes = set()
    for line in section.splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|", line)
        if m:
            codes.add(int(m.group(1)))
    return codes


def test_parsers_see_something():
    # Guard against a regex that silently matches nothing.
    assert len(help_options()) > 30
    assert "--secret" in help_options()
    assert len(config_keys()) > 30
    assert {"vault_addr", "auth_role", "env_refs", "process_group"} <= \
        config_keys()
    assert {64, 78, 124, 127} <= exit_codes()


def test_help_man_page_and_reference_list_the_same_options():
    h = help_options()
    assert h == man_options(), "--help vs man page: %s" % sorted(
        h ^ man_options())
    ref = doc_options(REFERENCE)
    assert h == ref, "only in --help: %s; only in reference.md: %s" % (
        sorted(h - ref), sorted(ref - h))


def test_every_config_key_is_in_the_reference():
    text = read(REFERENCE)
    missing = sorted(k for k in config_keys()
                     if not re.search(r"`%s`" % re.escape(k), text))
    assert not missing, "config keys not in docs/reference.md: %s" % missing


def test_every_exit_code_is_in_the_reference_table():
    missing = sorted(exit_codes() - reference_exit_table())
    assert not missing, "exit codes not in the table: %s" % missing


def test_reference_exit_table_has_no_unknown_code():
    extra = sorted(reference_exit_table() - exit_codes())
    assert not extra, "codes in the table but not in exitcodes.h: %s" % extra


def test_every_flag_in_the_guide_exists():
    unknown = sorted(doc_options(GUIDE) - help_options())
    assert not unknown, "flags in docs/guide.md not in --help: %s" % unknown


def test_every_environment_variable_is_documented():
    """Each variable config.c reads for an option is in --help, in the man
    page's ENVIRONMENT and in the reference."""
    src = read(os.path.join(SRC, "config.c"))
    names = set(re.findall(r'"((?:VAULT|LEASEWRAP)_[A-Z_]+)"', src))
    assert {"VAULT_ADDR", "VAULT_CACERT", "LEASEWRAP_LOG_LEVEL",
            "LEASEWRAP_LOG_FORMAT"} <= names
    usage = lw.run(["--help"]).stdout
    man = read(MAN)
    env_section = man[man.index(".Sh ENVIRONMENT"):man.index(".Sh EXIT STATUS")]
    ref = read(REFERENCE)
    for n in sorted(names):
        assert n in env_section, "%s not in the man page's ENVIRONMENT" % n
        assert "`%s`" % n in ref, "%s not in docs/reference.md" % n
        if n != "VAULT_TOKEN":
            assert n in usage, "%s not in --help" % n
