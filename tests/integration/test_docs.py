"""The man pages cannot drift from the code: every option and command the
built programs print in --help is documented in docs/, every mpctl exit
code is in mpctl.1's EXIT STATUS, and groff renders both pages without a
warning. The checks go from the code to the pages, never back, so an option
may be documented before it lands."""
import os
import re
import shutil
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from mpdtest import MPCTL, MPD, main  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DOCS = os.path.join(ROOT, "docs")
MPD_PAGE = os.path.join(DOCS, "mpd.8")
MPCTL_PAGE = os.path.join(DOCS, "mpctl.1")
MPCTL_H = os.path.join(ROOT, "client", "mpctl.h")

# "-x, --long" or "    --long" at the start of a help line.
OPTION_LINE = re.compile(r"^\s+(?:-([A-Za-z0-9]),\s+)?--([a-z][a-z0-9-]*)",
                         re.M)


def run_help(*argv):
    """The stdout of a program's --help, which must exit 0."""
    r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=30)
    if r.returncode != 0:
        raise AssertionError("%s exited %d: %s" % (" ".join(argv),
                                                   r.returncode, r.stderr))
    return r.stdout


def page_text(path):
    """A page's roff source with escapes a reader would not see removed:
    "\\-" is "-", font changes and "\\%" vanish, comments are dropped."""
    with open(path, encoding="utf-8") as f:
        lines = [ln for ln in f if not ln.startswith('.\\"')]
    s = "".join(lines)
    s = s.replace("\\-", "-").replace("\\%", "").replace("\\&", "")
    s = re.sub(r"\\f(?:[BIRP]|\[[A-Z]*\])", "", s)
    return s


def sections(text, macro):
    """{heading: body} for the page's .SH (macro "SH") or .SS headings."""
    parts = re.split(r"^\.%s[ \t]+(.*)$" % macro, text, flags=re.M)
    found = {}
    for i in range(1, len(parts), 2):
        heading = parts[i].strip().strip('"')
        found[heading] = parts[i + 1]
    return found


def mentions(text, option):
    """True when text names option ("--db", "-s") as a whole word."""
    return re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(option),
                     text) is not None


class MpdPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.help = run_help(MPD, "--help")
        cls.page = page_text(MPD_PAGE)
        cls.sections = sections(cls.page, "SH")

    def test_every_option_of_help_is_in_options(self):
        opts = OPTION_LINE.findall(self.help)
        self.assertGreaterEqual(len(opts), 10, "no options in mpd --help")
        body = self.sections.get("OPTIONS")
        self.assertIsNotNone(body, "mpd.8 has no OPTIONS section")
        for short, long_ in opts:
            with self.subTest(option=long_):
                self.assertTrue(mentions(body, "--" + long_),
                                "mpd.8 OPTIONS lacks --%s" % long_)
                if short:
                    self.assertTrue(mentions(body, "-" + short),
                                    "mpd.8 OPTIONS lacks -%s" % short)

    def test_every_long_option_named_in_help_is_on_the_page(self):
        for name in set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)",
                                   self.help)):
            with self.subTest(option=name):
                self.assertTrue(mentions(self.page, "--" + name),
                                "mpd.8 never mentions --%s" % name)

    def test_exit_status(self):
        body = self.sections.get("EXIT STATUS", "")
        for code in ("0", "1", "2"):
            self.assertRegex(body, r"(?m)^\.B %s$" % code)

    def test_required_sections(self):
        for name in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS",
                     "CONFIGURATION FILE", "SIGNALS", "FILES",
                     "ENVIRONMENT", "EXIT STATUS", "SYSTEMD", "SECURITY",
                     "EXAMPLES", "SEE ALSO"):
            self.assertIn(name, self.sections)


class MpctlPage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.help = run_help(MPCTL, "--help")
        cls.page = page_text(MPCTL_PAGE)
        cls.sections = sections(cls.page, "SH")
        cls.commands = {}
        for heading, body in sections(
                cls.sections.get("COMMANDS", ""), "SS").items():
            cls.commands[heading.split()[0]] = body

    def listed_commands(self):
        m = re.search(r"^commands:\n((?:  \S.*\n)+)", self.help, re.M)
        self.assertIsNotNone(m, "no commands: list in mpctl --help")
        return [ln.split()[0] for ln in m.group(1).splitlines()]

    def test_every_command_has_a_subsection(self):
        cmds = self.listed_commands()
        self.assertGreaterEqual(len(cmds), 8)
        for cmd in cmds:
            with self.subTest(command=cmd):
                self.assertIn(cmd, self.commands,
                              "mpctl.1 COMMANDS has no .SS %s" % cmd)

    def test_every_global_option_is_documented(self):
        body = self.sections.get("GLOBAL OPTIONS", "")
        for short, long_ in OPTION_LINE.findall(self.help):
            with self.subTest(option=long_):
                self.assertTrue(mentions(body, "--" + long_))
                if short:
                    self.assertTrue(mentions(body, "-" + short))

    def test_every_command_option_is_under_its_command(self):
        common = self.sections.get("COMMANDS", "").split(".SS", 1)[0]
        for cmd in self.listed_commands():
            text = run_help(MPCTL, cmd, "--help")
            opts = OPTION_LINE.findall(text)
            self.assertTrue(opts, "mpctl %s --help lists no options" % cmd)
            body = self.commands.get(cmd, "")
            for short, long_ in opts:
                with self.subTest(command=cmd, option=long_):
                    # --help is documented once for every command.
                    where = common if long_ == "help" else body
                    self.assertTrue(mentions(where, "--" + long_),
                                    "mpctl.1 %s lacks --%s" % (cmd, long_))
                    if short:
                        self.assertTrue(mentions(where, "-" + short),
                                        "mpctl.1 %s lacks -%s" %
                                        (cmd, short))
                    self.assertTrue(mentions(self.page, "--" + long_))

    def test_exit_codes(self):
        body = self.sections.get("EXIT STATUS")
        self.assertIsNotNone(body, "mpctl.1 has no EXIT STATUS section")
        documented = set(re.findall(r"(?m)^\.TP\n\.B (\d+)$", body))
        wanted = {str(n) for n in range(7)}
        # The codes mpctl --help prints, and the ones mpctl.h defines.
        m = re.search(r"^exit status:\n((?:  \d.*\n)+)", self.help, re.M)
        self.assertIsNotNone(m, "no exit status list in mpctl --help")
        wanted |= {ln.split()[0] for ln in m.group(1).splitlines()}
        if os.path.exists(MPCTL_H):
            with open(MPCTL_H, encoding="utf-8") as f:
                wanted |= set(re.findall(r"^#define\s+EXIT_\w+\s+(\d+)",
                                         f.read(), re.M))
        self.assertEqual(wanted - documented, set(),
                         "exit codes missing from mpctl.1 EXIT STATUS")


class Rendering(unittest.TestCase):
    def test_groff_prints_no_warnings(self):
        groff = shutil.which("groff")
        if groff is None:
            self.skipTest("groff is not installed")
        for page in (MPD_PAGE, MPCTL_PAGE):
            with self.subTest(page=os.path.basename(page)):
                r = subprocess.run([groff, "-man", "-Tutf8", "-ww", "-z",
                                    page], stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True,
                                   timeout=60)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "", r.stderr)
                self.assertEqual(r.stdout, "")


if __name__ == "__main__":
    main()
