"""Runs a libFuzzer harness (fuzz_request, fuzz_wframe) for a bounded time,
as one CTest test.

    run_fuzz.py --skip REASON
        prints why the fuzzer cannot run here and exits 77 (CTest's
        SKIP_RETURN_CODE), so a missing clang is a visible skip, not a pass.
    run_fuzz.py FUZZER EXAMPLES_DIR DICT WORK_DIR
        writes a seed corpus from the requests in EXAMPLES_DIR/*.ndjson
        into WORK_DIR/seeds, then fuzzes for MPD_FUZZ_SECONDS seconds
        (default 20), growing WORK_DIR/corpus, which later runs reuse.
        Exits non-zero on any crash, leak, sanitizer report or broken
        contract; the input that did it is in WORK_DIR/artifacts.

Reproduce a failure with:  FUZZER WORK_DIR/artifacts/crash-...
"""
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys

SKIP = 77
# Longest input tried: well past every example, short enough to stay fast.
MAX_LEN = 16384


def seeds_from_examples(examples):
    """Request lines from the transcripts: each one alone, and each
    transcript's lines together (newline-separated) for the framing."""
    seeds = []
    for path in sorted(glob.glob(os.path.join(examples, "*.ndjson"))):
        lines = []
        with open(path, encoding="utf-8") as f:
            for text in f:
                step = json.loads(text)
                if "send" in step:
                    line = json.dumps(step["send"], separators=(",", ":"))
                elif "send_raw" in step:
                    line = step["send_raw"]
                else:
                    continue
                lines.append(line.encode("utf-8"))
        seeds.extend(lines)
        if lines:
            seeds.append(b"\n".join(lines) + b"\n")
    if not seeds:
        sys.exit("run_fuzz: no requests found in %s/*.ndjson" % examples)
    return seeds + EDGE_SEEDS


# Inputs near edges the transcripts do not reach: names longer than the
# 64 bytes an error message quotes (ASCII and not), deep nesting, a bad
# escape before a multi-byte character (jansson quotes the first byte of
# it), a line split by CR, a long run without a newline.
EDGE_SEEDS = [
    b'{"op":"%s","req":1}' % (b"o" * 70),
    b'{"op":"%s","req":1}' % (b"o" * 62 + "\u00e9\u00e9\u00e9".encode()),
    b'{"op":"hello","req":1,"%s":1}' % (b"k" * 70),
    b'{"op":"hello","req":1,"%s":1}' % (b"k" * 63 + "\u20ac".encode()),
    b'{"op":"submit","task":"echo","args":%s1%s}' % (b"[" * 2100,
                                                     b"]" * 2100),
    b'{"op":"hello","client":"ab\\' + "\u00e9".encode() + b'"}',
    b'{"op":"hello","client":"a"}\r\n{"op":"get","job":1}\n',
    b"x" * 100 + b"\n" + b"y" * 10,
]


def write_seeds(seeds, directory):
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory)
    for data in seeds:
        name = hashlib.sha1(data).hexdigest()
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


def main(argv):
    if len(argv) >= 2 and argv[1] == "--skip":
        print("SKIPPED: the fuzzer was not built: %s. Install clang "
              "with libFuzzer (Debian: clang libclang-rt-14-dev, as "
              "scripts/deps does) and configure again."
              % " ".join(argv[2:]))
        return SKIP
    if len(argv) != 5:
        sys.exit(__doc__)
    fuzzer, examples, dictionary, work = argv[1:]
    seconds = int(os.environ.get("MPD_FUZZ_SECONDS") or "20")
    seeds = os.path.join(work, "seeds")
    corpus = os.path.join(work, "corpus")
    artifacts = os.path.join(work, "artifacts")
    write_seeds(seeds_from_examples(examples), seeds)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(artifacts, exist_ok=True)
    cmd = [fuzzer, corpus, seeds,
           "-dict=" + dictionary,
           "-max_total_time=%d" % seconds,
           "-max_len=%d" % MAX_LEN,
           "-timeout=10",
           "-rss_limit_mb=2048",
           "-print_final_stats=1",
           "-artifact_prefix=" + artifacts + "/"]
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1"
    print("run_fuzz: %d seeds, %d s: %s" % (len(os.listdir(seeds)), seconds,
                                           " ".join(cmd)), flush=True)
    rc = subprocess.call(cmd, env=env)
    if rc != 0:
        found = sorted(glob.glob(os.path.join(artifacts, "*")),
                       key=os.path.getmtime)
        print("run_fuzz: the fuzzer failed (exit %d)%s" % (
            rc, "; reproduce with: %s %s" % (fuzzer, found[-1])
            if found else ""))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
