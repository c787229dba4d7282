"""The documentation says what the code does: --help, the man page, README."""
import json
import os
import subprocess
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


def rendered_man_page():
    """The man page as a reader sees it: groff's plain UTF-8 text (no bold,
    no underline), with the hyphens and minus signs of \\- as ASCII."""
    r = subprocess.run(["groff", "-mandoc", "-Tutf8", "-P-cbou", MAN],
                          capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"})
    assert r.returncode == 0 and r.stderr == "", r.stderr
    text = r.stdout.replace("\u2010", "-").replace("\u2212", "-")
    # Words broken at the end of a line ("be-\n   fore") joined again.
    return re.sub(r"(\w)-\n\s+(\w)", r"\1\2", text)


def rendered_section(text, title):
    start = text.index("\n%s\n" % title)
    m = re.search(r"\n[A-Z][A-Z ]+\n", text[start + len(title) + 2:])
    return text[start:start + len(title) + 2 + m.start()]


def test_rendered_man_page_configuration_file():
    section = rendered_section(rendered_man_page(), "CONFIGURATION FILE")
    entry = re.search(r"^\s+secret\s+(.*?)\n\s+no_revoke", section, re.S | re.M)
    assert entry, section
    words = " ".join(entry.group(1).split())
    assert words == 'an array of "NAME=PATH#FIELD" strings, or an object ' \
        '{"NAME": "PATH#FIELD"}', words
    # The example is JSON as printed.
    example = re.search(r"^( +)\{\n.*?^\1\}$", section, re.S | re.M)
    assert example, section
    assert json.loads(example.group(0))["secret"]["PGUSER"] == "database/creds/ro#username"
    assert "relative to the folder the file is in" in " ".join(section.split())


def test_rendered_man_page_has_every_help_option():
    text = rendered_man_page()
    missing = sorted(o for o in help_options()
                     if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), text))
    assert not missing, "in --help but not in the rendered man page: %s" % missing


def test_rendered_man_page_exit_status_is_true():
    text = " ".join(rendered_section(rendered_man_page(), "EXIT STATUS").split())
    assert "and happens before the command starts" not in text
    assert "Codes 75, 79 and 124 come while the command runs" in text
    assert re.search(r"\b69 Vault is unavailable: [^.]*\b412, 429 or 5xx", text), text
    opts = " ".join(rendered_section(rendered_man_page(), "OPTIONS").split())
    entry = opts[opts.index("--kill-signal SIGNAL"):opts.index("--kill-timeout DURATION")]
    assert "--timeout" in entry and "left behind" in entry, entry
