"""The documentation says what the code does: --help, the man page, README."""
import os
import re

import lw

MAN = os.path.join(lw.ROOT, "docs", "leasewrap.1")
README = os.path.join(lw.ROOT, "README.md")


def help_options():
    out = lw.run(["--help"]).stdout
    return set(re.findall(r"(--[a-z][a-z-]+)", out))


def man_options():
    text = open(MAN).read()
    # mdoc writes a long option as "Fl \-name".
    return {"--" + m for m in re.findall(r"Fl \\-([a-z][a-z-]+)", text)}


def test_help_and_man_page_list_the_same_options():
    assert help_options() == man_options()


def test_every_config_key_is_in_the_man_page():
    text = open(MAN).read()
    src = open(os.path.join(lw.ROOT, "src", "config.c")).read()
    table = src[src.index("opts[O_COUNT] = {"):]
    table = table[:table.index("};")]
    keys = (re.findall(r'K_[A-Z]+, "([a-z_]+)" }', table) +
            re.findall(r'STR\(([a-z_]+)\) }', table) + ["command"])
    assert "vault_addr" in keys and "on_change" in keys
    assert keys
    section = text[text.index(".Sh CONFIGURATION FILE"):]
    section = section[:section.index(".Sh ", 5)]
    for k in keys:
        assert re.search(r"^\.It Cm (.* , )?%s( ,|$)" % k, section, re.M), k


def test_every_exit_code_is_documented():
    text = open(MAN).read()
    hdr = open(os.path.join(lw.ROOT, "src", "exitcodes.h")).read()
    codes = re.findall(r"#define LW_EXIT_\w+\s+(\d+)", hdr)
    assert len(codes) >= 9
    section = text[text.index(".Sh EXIT STATUS"):text.index(".Sh EXAMPLES")]
    for c in codes:
        assert ".It %s" % c in section, c


def test_readme_test_command_is_what_ci_runs():
    readme = open(README).read()
    ci = open(os.path.join(lw.ROOT, ".ci", "run")).read()
    m = re.search(r"^(.*make check)\s", readme, re.M)
    assert m, "README has no make check command"
    cmd = m.group(1).strip()
    assert cmd in ci.splitlines()
