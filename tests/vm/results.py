#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads the serial logs of the test VMs and judges them.

results.py [--manifest FILE] [--tests GLOBS] LOG...
    one log per topology, named <topology>.log (demo-<t>.log and
    bench-<t>.log are the demo's and the benchmark's VMs); --tests is the
    TESTS filter the run was narrowed by (comma or space separated globs).

Prints IGT's per-subtest lines, any kernel splat, a per-topology table, a
per-binary time table and, last, "N passed, N failed, N skipped" over
every subtest of every topology. Exits 1 when anything failed.

What must have happened comes from the manifest (tests/vm/manifest), the
file the guest ran from: every binary it names for a topology must have
run and reported subtests, only the skips it names may skip, and the
debuggers it names must still be alive at the end. A topology whose kernel
log shows a splat fails whatever its tests said. The `detector` topology
fires one splat of each kind on purpose: there, finding each is the pass.
"""
import argparse
import fnmatch
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MANIFEST = os.path.join(HERE, "manifest")

# Anything a healthy kernel never prints. Matched against console + dmesg.
SPLAT_PATTERNS = [
    r"WARNING: CPU: \d+ PID",
    r"\bBUG: ",
    r"kernel BUG at",
    r"\bOops\b",
    r"general protection fault",
    r"KASAN",
    r"UBSAN",
    r"possible circular locking dependency",
    r"possible recursive locking",
    r"inconsistent lock state",
    r"suspicious RCU usage",
    r"DEBUG_LOCKS_WARN_ON",
    r"INFO: possible",
    r"INFO: task .* blocked for more than",
    r"DMA-API: (?!preallocated|debugging enabled|debugging disabled on kernel command line)",
    r"unreferenced object 0x",
    r"sleeping function called from invalid context",
    r"DMAR: \[DMA (Read|Write)",
    r"DMAR: .*[Ff]ault",
    r"Kernel panic",
    r"Call Trace:",
    r"x86/PAT: .*conflicting memory types",
    r"refcount_t: ",
    r"list_(add|del) corruption",
]
SPLAT_RE = re.compile("|".join(SPLAT_PATTERNS))
# Taint bits that loading our unsigned out-of-tree modules sets: O and E.
ALLOWED_TAINT = (1 << 12) | (1 << 13)
SUBTEST_RE = re.compile(r"^Subtest (\S+): (SUCCESS|FAIL|SKIP|CRASH|TIMEOUT|NOTRUN)")
STATUS = {"SUCCESS": "pass", "SKIP": "skip", "NOTRUN": "skip"}
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
MAX_FAILURES_REPEATED = 8
KMEMLEAK_OFF_RE = re.compile(r"kmemleak: Kernel memory leak detector disabled")

# The detector's deliberate splats (tests/kmod/p2p_splat.c): for each kind,
# what identifies our report among the lines the splat patterns above catch
# (so a kind counts only if the generic detector catches it), and what the
# debugger must say afterwards.
SPLAT_KINDS = {
    "warn": (r"WARNING: CPU: \d+ PID", r"p2p_splat_warn"),
    "kasan": (r"BUG: KASAN: ", r"p2p_splat_kasan"),
    "lockdep": (r"possible circular locking dependency", None),
    "kmemleak": (r"unreferenced object 0x", None),
    "dma-api": (r"DMA-API: ", r"p2p_splat.*not allocated"),
    "atomic-sleep": (r"sleeping function called from invalid context", r"p2p_splat"),
}

# What the demo must show a newcomer, per topology (p2pctl share).
DEMO_P2P = [r"Decision: PEER-TO-PEER", r"Bytes through system memory: 0 (B )?of",
            r"Result: OK, data verified"]
DEMO_NO_PATH = [r"Decision: STAGED through system memory",
                r"Reason: .*(switch|host bridge)",
                r"Result: OK, data verified"]
DEMO_NO_P2PDMA = [r"Decision: STAGED through system memory",
                  r"Reason: +kernel-no-p2pdma",
                  r"Why/fix: .*CONFIG_PCI_P2PDMA",
                  r"Result: OK, data verified"]
DEMO_EXPECT = {
    "stock73": DEMO_P2P,
    "stock73-rootports": DEMO_NO_PATH,
    "stock": DEMO_NO_P2PDMA,
    "switch": DEMO_P2P,
    "rootports": DEMO_NO_PATH,
}
# What `make demo` shows by default (demo.sh's DEMO_TOPOLOGIES).
DEMO_DEFAULT = ["stock73", "stock73-rootports", "stock"]


class Manifest:
    """tests/vm/manifest: what runs where and what must be seen (its header
    documents the format)."""

    def __init__(self, text, path="manifest"):
        self.path = path
        self.groups = {}
        self.lines = []
        for number, line in enumerate(text.splitlines(), 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            if len(fields) < 2:
                raise ValueError(f"{path}:{number}: no topologies: {line}")
            if fields[0] == "group":
                self.groups[fields[1]] = fields[2] if len(fields) > 2 else ""
            else:
                self.lines.append((fields[0], fields[1], fields[2:], number))

    @classmethod
    def load(cls, path=MANIFEST):
        with open(path) as f:
            return cls(f.read(), path)

    def topologies(self, spec):
        out = set()
        for t in spec.split(","):
            if t.startswith("@"):
                out |= self.topologies(self.groups.get(t[1:], ""))
            elif t:
                out.add(t)
        return out

    def entries(self, kind, topology):
        return [args for k, spec, args, _ in self.lines
                if k == kind and topology in self.topologies(spec)]

    def has(self, kind, topology):
        return bool(self.entries(kind, topology))

    def runs(self, topology):
        """[(binary, timeout expression, args)]"""
        return [(a[0], a[1], a[2:]) for a in self.entries("run", topology)]

    def all_binaries(self):
        return {args[0] for k, _, args, _ in self.lines if k == "run"}

    def _reasons(self, kind, topology):
        return {a[0]: " ".join(a[1:]) for a in self.entries(kind, topology)}

    def skips(self, topology):
        return self._reasons("skip", topology)

    def expected_failures(self, topology):
        return self._reasons("expect-fail", topology)

    def debuggers(self, topology):
        """None (the manifest does not say), or (set of kinds, why none)."""
        entries = self.entries("debuggers", topology)
        if not entries:
            return None
        kinds, why = set(), ""
        for a in entries:
            if a and a[0] == "none":
                why = " ".join(a[1:]) or "none by design"
            else:
                kinds |= set(a)
        return kinds, why

    def splats(self, topology):
        return [k for a in self.entries("splats", topology) for k in a]

    def checks(self, topology):
        return [k for a in self.entries("checks", topology) for k in a]


def find_splats(lines):
    return [l for l in lines if SPLAT_RE.search(l)]


def narrowed_out(name, tests):
    """Whether a TESTS filter (None: not narrowed) leaves binary `name` out."""
    return tests is not None and not any(fnmatch.fnmatchcase(name, g) for g in tests)


def judge_static(lines, manifest):
    """static-checks.sh and host-tests.sh output: a verdict line per check."""
    results = []
    findings = [l for l in lines if not l.startswith("@@P2PBUF-STATIC")]
    seen = set()
    for line in lines:
        m = re.match(r"^@@P2PBUF-STATIC (\S+) (pass|fail|skip) ?(.*)$", line)
        if m:
            name, verdict, detail = m.groups()
            seen.add(name)
            if verdict == "skip":
                # A check that did not run proves nothing: never a skip.
                verdict, detail = "fail", f"did not run: {detail}"
            results.append((f"static@{name}", verdict, detail))
    for name in manifest.checks("static"):
        if name not in seen:
            results.append((f"static@{name}", "fail", "wrote no verdict (the check never ran)"))
    if any(v == "fail" for _, v, _ in results):
        for l in findings[:60]:
            print(f"[static] {l}")
    if not results:
        results.append(("static@ran", "fail", "static-checks.sh wrote no verdict"))
    return results


def judge_demo(lines):
    """demo.sh's output: what a newcomer must see in each topology."""
    sections, current = {}, None
    for line in lines:
        m = re.match(r"^==== \[(\S+)\] .* ====$", line)
        if m:
            current = m.group(1)
            sections[current] = []
        elif current:
            sections[current].append(line)
    rc = next((l.split()[1] for l in lines if l.startswith("@@P2PBUF-DEMO-RC ")), None)
    results = [("demo@exit", "pass" if rc == "0" else "fail",
                f"demo.sh exit status {rc}")]
    for name in sections.keys() | set(DEMO_DEFAULT):
        results.append(judge_demo_text(f"demo@{name}", name, sections.get(name, [])))
    results += judge_demo_observed(sections)
    if any(v == "fail" for _, v, _ in results):
        for l in lines[-60:]:
            print(f"[demo] {l}")
    return results


def judge_demo_text(verdict_name, topology, text):
    patterns = DEMO_EXPECT.get(topology)
    if patterns is None:
        return (verdict_name, "fail", f"no demo expectation for topology {topology}")
    missing = [p for p in patterns if not any(re.search(p, l) for l in text)]
    return (verdict_name, "fail" if missing else "pass",
            f"missing {missing}" if missing else "shown")


def judge_demo_observed(sections):
    """The demo's decision against the hardware:
    observe-lastdma, run right after `p2pctl share`, reads the NIC's last
    DMA address (its write of the buffer's last chunk) and says whether it
    lies in the GPU's BAR. A PEER-TO-PEER decision with 0 bytes through
    system memory must show where=bar (where=iova-bar behind an IOMMU);
    STAGED must show where=system."""
    results = []
    for name, text in sections.items():
        obs = [l for l in text if l.startswith("@@P2PBUF-OBSERVE last-dma ")]
        p2p = any(re.search(r"^Decision: PEER-TO-PEER", l) for l in text)
        staged = any(re.search(r"^Decision: STAGED", l) for l in text)
        via0 = any(re.search(r"^Bytes through system memory: 0 (B )?of", l) for l in text)
        if not obs:
            results.append((f"demo@{name}-observed", "fail",
                            "no @@P2PBUF-OBSERVE last-dma line after p2pctl share"))
            continue
        m = re.search(r"\bwhere=(\S+)", obs[-1])
        where = m.group(1) if m else "?"
        if p2p:
            ok = where in ("bar", "iova-bar") and via0
        elif staged:
            ok = where in ("system", "iova-system")
        else:
            ok = False
        said = "PEER-TO-PEER" if p2p else "STAGED" if staged else "no decision"
        results.append((f"demo@{name}-observed", "pass" if ok else "fail",
                        f"p2pctl said {said}{', 0 B via system' if via0 else ''}; "
                        f"the NIC's last DMA: {obs[-1].split('last-dma ', 1)[1]}"))
    return results


def requirement_text(output):
    """IGT's words for why a test skipped: its requirement lines and the
    message under them."""
    reasons = []
    for i, line in enumerate(output):
        if line.startswith("Test requirement") or (
                i > 0 and output[i - 1].startswith("Test requirement:")):
            reasons.append(line.strip())
    return "; ".join(reasons)[-200:] or "no requirement message"


def parse_kv(text):
    return dict(kv.split("=", 1) for kv in text.split() if "=" in kv)


# p2pbuf_observe's report of where the NIC's DMA went (the edu registers
# against the BAR's sysfs range), by the words it uses.
OBSERVED_RE = re.compile(r"NIC (?:writes|reads) VRAM: the NIC was programmed with "
                         r"\S+ \(\+\S+\): ([\w-]+)")
OBSERVED_NAMES = {"bar": "p2p by bus address", "iova-bar": "p2p by IOVA",
                  "system": "staged", "iova-system": "staged (IOVA)",
                  "iova-opaque": "by IOVA (no IOMMU debugfs: the BAR's bytes decide)"}


def what_it_ran_on(text):
    """(kernel release, the data paths p2pbuf_observe saw) of one log, for
    the summary table: every kernel of the matrix says what it did."""
    m = re.search(r"^@@P2PBUF-BEGIN .*\bkernel=(\S+)", text, re.M)
    kernel = m.group(1) if m else "-"
    seen = []
    for w in OBSERVED_RE.findall(text):
        name = OBSERVED_NAMES.get(w, w)
        if name not in seen:
            seen.append(name)
    # p2pbuf_swiotlb saw the staged mappings bounce (swiotlb=force)
    if seen and re.search(r"Subtest staged-bounce: SUCCESS", text):
        seen[-1] += " (bounced: swiotlb=force)"
    return kernel, ", ".join(seen) or "-"


class Log:
    """The markers of one guest log, parsed once."""

    def __init__(self, lines):
        self.lines = lines
        self.begin = {}
        self.listed = {}
        self.started = {}      # binary -> {"t": ..., "timeout": ...}
        self.ended = {}        # binary -> {"rc": int, "t": ...}
        self.subtests = {}     # binary -> [(subtest, status, output before it)]
        self.missing = []
        self.no_manifest = []
        self.unlisted = []
        self.not_built = []
        self.load_fail = []
        self.unload_fail = []
        self.debuggers = None
        self.fired = {}
        self.taint = None
        self.end = None
        self.demo = None       # (lines, rc)
        self.kmemleak = []
        self.current = None
        output, demo_lines, in_kmemleak = [], None, False
        for line in lines:
            m = re.match(r"^@@P2PBUF-BEGIN ?(.*)$", line)
            if m:
                self.begin = parse_kv(m.group(1))
                continue
            m = re.match(r"^@@P2PBUF-SUBTESTS (\S+) ?(.*)$", line)
            if m:
                self.listed[m.group(1)] = m.group(2).split()
                continue
            m = re.match(r"^@@P2PBUF-TEST (\S+) ?(.*)$", line)
            if m:
                self.current = m.group(1)
                self.started[self.current] = parse_kv(m.group(2))
                self.subtests[self.current] = []
                output = []
                continue
            m = re.match(r"^@@P2PBUF-TEST-END (\S+) rc=(\d+) ?(.*)$", line)
            if m:
                self.ended[m.group(1)] = {"rc": int(m.group(2)), **parse_kv(m.group(3)),
                                          "output": output}
                self.current = None
                continue
            m = SUBTEST_RE.match(line)
            if m and self.current:
                self.subtests[self.current].append((m.group(1), m.group(2), output, line))
                output = []
                continue
            if self.current:
                output.append(line)
            if line.startswith("@@P2PBUF-DEMO-BEGIN"):
                demo_lines = []
                continue
            m = re.match(r"^@@P2PBUF-DEMO-END rc=(\d+)", line)
            if m and demo_lines is not None:
                self.demo = (demo_lines, int(m.group(1)))
                demo_lines = None
                continue
            if demo_lines is not None:
                demo_lines.append(line)
            if line.startswith("@@P2PBUF-KMEMLEAK-BEGIN"):
                in_kmemleak = True
                continue
            if line.startswith("@@P2PBUF-KMEMLEAK-END"):
                in_kmemleak = False
                continue
            if in_kmemleak:
                self.kmemleak.append(line)
            for marker, into in (("MISSING", self.missing), ("MANIFEST-MISSING", self.no_manifest), ("UNLISTED", self.unlisted),
                                 ("NOT-BUILT", self.not_built), ("LOAD-FAIL", self.load_fail),
                                 ("UNLOAD-FAIL", self.unload_fail)):
                m = re.match(rf"^@@P2PBUF-{marker} (\S+)", line)
                if m:
                    into.append(m.group(1))
            m = re.match(r"^@@P2PBUF-DEBUGGERS (.*)$", line)
            if m:
                self.debuggers = parse_kv(m.group(1))
            m = re.match(r"^@@P2PBUF-SPLAT-FIRED (\S+) rc=(\d+)", line)
            if m:
                self.fired[m.group(1)] = int(m.group(2))
            m = re.match(r"^@@P2PBUF-TAINT (\d+)", line)
            if m:
                self.taint = int(m.group(1))
            m = re.match(r"^@@P2PBUF-END(?: (.*))?$", line)
            if m:
                self.end = parse_kv(m.group(1) or "")


def judge_subtests(topology, log, manifest, results):
    skips = manifest.skips(topology)
    must_fail = manifest.expected_failures(topology)
    for name, subs in log.subtests.items():
        for sub, status, output, line in subs:
            key = f"{name}@{sub}"
            print(f"[{topology}] {name}: {line}")
            if key in must_fail:
                if status == "FAIL":
                    results.append((key, "pass", f"failed, as it must here: {must_fail[key]}"))
                else:
                    results.append((key, "fail", f"{status}, but it must FAIL here: {must_fail[key]}"))
            elif status in ("SKIP", "NOTRUN"):
                if key in skips:
                    results.append((key, "skip", f"expected here: {skips[key]}"))
                else:
                    results.append((key, "fail", f"skipped, and the manifest expects no skip "
                                    f"of it in {topology}: {requirement_text(output)}"))
            elif status == "SUCCESS":
                if key in skips:
                    print(f"[{topology}] note: {key} passed where the manifest expects a "
                          f"skip ({skips[key]}): the manifest may be out of date")
                results.append((key, "pass", line))
            else:
                results.append((key, "fail", line))
    for key, why in must_fail.items():
        name, sub = key.split("@", 1)
        if not any(s == sub for s, *_ in log.subtests.get(name, [])):
            state = ("not built (no build/igt/" + name + ")" if name in log.missing
                     else "never started" if name not in log.started
                     else "started but never reported it")
            results.append((key, "fail", f"must FAIL here ({why}), but {name} {state}"))


def judge_binaries(topology, log, manifest, tests, results):
    fail_states = ("FAIL", "CRASH", "TIMEOUT")
    for name, end in log.ended.items():
        rc, subs = end["rc"], log.subtests.get(name, [])
        limit = log.started.get(name, {}).get("timeout")
        if rc in (124, 137) and limit:
            results.append((f"{name}@exit", "fail", f"killed by its {limit} s timeout (exit code {rc})"))
        elif not subs and rc == 0:
            results.append((f"{name}@exit", "fail", "exited 0 without reporting any subtest"))
        elif not subs and rc == 77:
            results.append((f"{name}@exit", "fail", "exited 77 (skip) before any subtest: "
                            f"{requirement_text(end['output'])}"))
        elif not subs:
            results.append((f"{name}@exit", "fail", f"exit code {rc} before any subtest"))
        elif rc not in (0, 77) and not any(s in fail_states for _, s, *_ in subs):
            results.append((f"{name}@exit", "fail", f"exit code {rc}"))
        reported = {s for s, *_ in subs}
        for sub in log.listed.get(name, []):
            if sub not in reported and subs:
                results.append((f"{name}@{sub}", "fail",
                                f"listed but never reported (exit code {rc})"))
    if log.current:
        results.append((f"{log.current}@exit", "fail", "the VM stopped inside this test"))
    for path in log.no_manifest:
        results.append(("manifest@read", "fail", f"the guest could not read {path}: "
                        "it ran nothing the manifest names"))
    for name in log.unlisted:
        results.append((f"{name}@manifest", "fail", "in build/igt but no 'run' line of "
                        "tests/vm/manifest names it: it runs nowhere"))
    for name, _, _ in manifest.runs(topology):
        if name in log.started or (narrowed_out(name, tests) and topology != "detector"):
            continue
        why = ("not built: no build/igt/" + name if name in log.missing
               else "the guest never started it")
        results.append((f"{name}@ran", "fail", f"the manifest runs it in {topology}; {why}"))


def judge_debuggers(topology, log, manifest, results):
    expected = manifest.debuggers(topology)
    if expected is None:
        results.append(("debug@manifest", "fail", f"the manifest names no debuggers for "
                        f"{topology} (a 'debuggers' line, or 'none' with its reason)"))
        return
    kinds, why_none = expected
    d = log.debuggers
    if not kinds:
        print(f"[{topology}] debuggers: none by design ({why_none})")
        return
    if d is None:
        if log.end is not None:
            results.append(("debug@alive", "fail", "the guest printed no @@P2PBUF-DEBUGGERS line"))
        return
    print(f"[{topology}] debuggers at the end: " + " ".join(f"{k}={v}" for k, v in d.items()))
    splats = set(manifest.splats(topology))
    if "lockdep" in kinds:
        v = d.get("lockdep_debug_locks")
        want = "0" if "lockdep" in splats else "1"
        if v != want:
            results.append(("debug@lockdep", "fail",
                            f"/proc/lockdep_stats debug_locks={v}, expected {want}" +
                            (": lockdep turned itself off (a report, maybe scrolled off the "
                             "console, or an earlier taint)" if v == "0" else "")))
    if "dma-api" in kinds:
        errors, disabled = d.get("dma_api_error_count"), d.get("dma_api_disabled")
        ok_errors = (errors not in (None, "absent") and errors.isdigit() and
                     (int(errors) > 0 if "dma-api" in splats else int(errors) == 0))
        if not ok_errors or disabled != "N":
            results.append(("debug@dma-api", "fail",
                            f"DMA-API debugging error_count={errors} disabled={disabled}, expected "
                            f"error_count {'> 0' if 'dma-api' in splats else '0'} and disabled=N"))
    if "kmemleak" in kinds:
        v = d.get("kmemleak")
        off = next((l.strip() for l in log.lines if KMEMLEAK_OFF_RE.search(l)), None)
        if v != "scanned" or off:
            results.append(("debug@kmemleak", "fail",
                            f"kmemleak={v} (its scan must be accepted)" +
                            (f"; the kernel said: {off[:120]}" if off else "")))


def judge_detector(topology, log, manifest, splats, results):
    caught = []
    for kind in manifest.splats(topology):
        if kind not in SPLAT_KINDS:
            results.append((f"detector@{kind}", "fail", f"unknown splat kind {kind}"))
            continue
        head, ours = SPLAT_KINDS[kind]
        if log.fired.get(kind) != 0:
            results.append((f"detector@{kind}", "fail", f"the guest did not fire it "
                            f"(write rc={log.fired.get(kind)})"))
            continue
        lines = [l for l in splats if re.search(head, l)]
        if ours:
            lines = [l for l in lines if re.search(ours, l)]
        elif kind == "lockdep" and not any("p2p_splat_lock_" in l for l in log.lines):
            lines = []
        elif kind == "kmemleak" and not any("p2p_splat_kmemleak" in l for l in log.kmemleak):
            # the report's backtrace names the allocation (its size is the
            # slab's, not the 1234 bytes asked for)
            lines = []
        if lines:
            caught.append(kind)
            results.append((f"detector@{kind}", "pass", f"caught: {lines[0].strip()[:140]}"))
        else:
            results.append((f"detector@{kind}", "fail", f"the deliberate {kind} splat was NOT "
                            "caught by the judge's splat patterns"))
    if caught:
        print(f"[{topology}] detector caught: {', '.join(caught)}")


def judge(topology, text, manifest=None, tests=None):
    """Returns a list of (name, verdict, detail) for one topology's log.

    tests: the TESTS globs the run was narrowed by, None when it was not."""
    manifest = manifest or Manifest.load()
    lines = [ANSI_RE.sub("", l).rstrip("\r") for l in text.splitlines()]
    if topology == "static":
        return judge_static(lines, manifest)
    if topology == "demo":
        return judge_demo(lines)
    if tests is not None and "*" in tests:
        tests = None
    log = Log(lines)
    # demo.sh's and bench.sh's VMs: demo-<t>.log, bench-<t>.log.
    base = re.sub(r"^(demo|bench)-", "", topology)
    mode = log.begin.get("mode", "test")
    results = []
    judge_subtests(topology, log, manifest, results)
    # A guest that never reached the harness (no BEGIN: no VM, a failed
    # boot) is one failure, vm@completed below, not one per binary.
    started = bool(log.begin)
    if mode == "test" and started:
        judge_binaries(base, log, manifest, tests, results)
    for name in log.load_fail:
        results.append((f"load@{name}", "fail", "module did not load"))
    for name in log.not_built:
        results.append((f"load@{name}", "fail", "module not built: its .ko is missing, so "
                        "nothing that needs it could run"))
    for name in log.unload_fail:
        results.append((f"unload@{name}", "fail", "module did not unload"))
    if log.demo is not None:
        demo_text, rc = log.demo
        results.append(("demo@exit", "pass" if rc == 0 else "fail", f"guest-demo.sh exit status {rc}"))
        results.append(judge_demo_text(f"demo@{base}", base, demo_text))
        results += judge_demo_observed({base: demo_text})
        for l in demo_text:
            print(f"[{topology}] demo: {l}")
    elif started and (mode == "demo" or (mode == "test" and tests is None and
                                         manifest.has("demo", base))):
        results.append(("demo@ran", "fail", "the manifest folds the demo into this VM, "
                        "and no @@P2PBUF-DEMO-BEGIN section came out"))
    if started:
        judge_debuggers(base, log, manifest, results)

    splats = find_splats(lines)
    taint = log.taint
    bad_taint = taint is not None and taint & ~ALLOWED_TAINT
    ended = log.end is not None
    if manifest.splats(base) or base == "detector":
        ok = ended and any("p2p_splat" in l for l in lines) and splats and bad_taint
        results.append(("detector@splat-detected", "pass" if ok else "fail",
                        "the detector saw the deliberate splats" if ok else
                        "the deliberate splats were NOT detected"))
        judge_detector(base, log, manifest, splats, results)
        return results
    if not ended:
        last = next((l.strip() for l in reversed(lines) if l.strip()), "(empty log)")
        results.append(("vm@completed", "fail", "the guest never reached the end "
                        f"(panic, hang or timeout); its last line: {last[:160]}"))
    if splats or bad_taint:
        for l in splats[:40]:
            print(f"[{topology}] SPLAT: {l}")
        detail = f"{len(splats)} splat lines, taint {taint}"
        if splats:
            detail += f"; first: {splats[0].strip()[:160]}"
            # dmesg is dumped at the end, so the kernel's own line for the
            # first out-of-tree load tells a boot splat from one of ours.
            first_load = next((i for i, l in enumerate(lines)
                               if "loading out-of-tree module taints kernel" in l), None)
            if first_load is None or lines.index(splats[0]) < first_load:
                detail += " (before any out-of-tree module loaded)"
        results.append(("kernel@log-clean", "fail", detail))
    else:
        results.append(("kernel@log-clean", "pass" if ended else "fail", ""))
    return results


def time_table(topology, text):
    """Per-binary wall time in the guest, from its /proc/uptime stamps."""
    log = Log([ANSI_RE.sub("", l).rstrip("\r") for l in text.splitlines()])
    rows = []
    for name, start in log.started.items():
        end = log.ended.get(name)
        try:
            took = f"{float(end['t']) - float(start['t']):8.1f}" if end else "   (none)"
        except (KeyError, ValueError):
            continue
        rows.append(f"  {name:<22} {took} s  timeout {start.get('timeout', '?'):>5} s  "
                    f"rc {end['rc'] if end else '-'}")
    if not rows:
        return []
    out = [f"[{topology}] time per binary (guest uptime):"] + rows
    try:
        out.append(f"  {'harness start':<22} {float(log.begin['t']):8.1f} s after boot; "
                   f"end at {float(log.end['t']):.1f} s")
    except (KeyError, TypeError, ValueError):
        pass
    return out


def judge_host(path):
    """Verdicts the host wrote about a topology (e.g. the DKMS build)."""
    results = []
    try:
        with open(path) as f:
            for line in f:
                m = re.match(r"^@@P2PBUF-HOST (\S+) (pass|fail|skip) ?(.*)$", line)
                if m:
                    results.append(m.groups())
                    print(f"[host] {m.group(1)}: {m.group(2).upper()} {m.group(3)}")
    except FileNotFoundError:
        pass
    return results


def main(argv):
    parser = argparse.ArgumentParser(description="judges the test VMs' serial logs")
    parser.add_argument("--manifest", default=MANIFEST)
    parser.add_argument("--tests", default=None,
                        help="the TESTS globs the run was narrowed by")
    parser.add_argument("logs", nargs="*")
    args = parser.parse_args(argv)
    tests = args.tests.replace(",", " ").split() if args.tests else None
    table = []
    times = []
    totals = {"pass": 0, "fail": 0, "skip": 0}
    failures = []
    try:
        manifest = Manifest.load(args.manifest)
    except (OSError, ValueError) as e:
        print(f"cannot read the manifest: {e}")
        manifest = Manifest("")
        failures.append(f"[manifest] FAIL manifest@read: {e}")
        totals["fail"] += 1
    for path in args.logs:
        topology = os.path.basename(path).removesuffix(".log")
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except OSError as e:
            text = ""
            print(f"[{topology}] cannot read {path}: {e}")
        if os.path.exists(path + ".boot1"):
            # lib.sh's boot_topology booted this VM twice: the first guest
            # never reached the harness, so none of its lines are judged.
            print(f"[{topology}] note: booted twice, the first boot never reached "
                  f"the harness (see {path}.boot1)")
        results = judge(topology, text, manifest, tests) + judge_host(path + ".host")
        times += time_table(topology, text)
        counts = {"pass": 0, "fail": 0, "skip": 0}
        for name, verdict, detail in results:
            counts[verdict] += 1
            if verdict == "fail":
                failures.append(f"[{topology}] FAIL {name}: {detail}")
                print(failures[-1])
        for k in totals:
            totals[k] += counts[k]
        table.append((topology, counts, what_it_ran_on(text)))
    if times:
        print()
        for line in times:
            print(line)
    print()
    print(f"{'topology':<19} {'passed':>6} {'failed':>6} {'skipped':>7}  "
          f"{'kernel':<22} data path seen by p2pbuf_observe")
    for topology, c, (kernel, seen) in table:
        print(f"{topology:<19} {c['pass']:>6} {c['fail']:>6} {c['skip']:>7}  "
              f"{kernel:<22} {seen}")
    # Repeated next to the summary: CI shows only the end of the output.
    if failures:
        print()
        for line in failures[:MAX_FAILURES_REPEATED]:
            print(line[:300])
        if len(failures) > MAX_FAILURES_REPEATED:
            print(f"... and {len(failures) - MAX_FAILURES_REPEATED} more failures above")
    print()
    print(f"{totals['pass']} passed, {totals['fail']} failed, {totals['skip']} skipped")
    return 1 if totals["fail"] or not args.logs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
