#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Reads the serial logs of the test VMs and judges them.

results.py LOG...   (one log per topology, named <topology>.log)

Prints IGT's per-subtest lines, any kernel splat, a per-topology table and,
last, "N passed, N failed, N skipped" over every subtest of every topology.
Exits 1 when anything failed. A topology whose kernel log shows a splat
fails whatever its tests said. The `detector` topology fires a WARN on
purpose: there, finding the splat is the pass.
"""
import os
import re
import sys

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
    r"DMA-API: (?!preallocated|debugging enabled)",
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


def find_splats(lines):
    return [l for l in lines if SPLAT_RE.search(l)]


def judge_static(lines):
    """static-checks.sh output: one verdict line per check, findings above."""
    results = []
    findings = [l for l in lines if not l.startswith("@@P2PBUF-STATIC")]
    for line in lines:
        m = re.match(r"^@@P2PBUF-STATIC (\S+) (pass|fail|skip) ?(.*)$", line)
        if m:
            results.append((f"static@{m.group(1)}", m.group(2), m.group(3)))
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
        m = re.match(r"^==== (.*) ====$", line)
        if m:
            current = "switch" if "switch" in m.group(1) else \
                "rootports" if "root ports" in m.group(1) else m.group(1)
            sections[current] = []
        elif current:
            sections[current].append(line)
    rc = next((l.split()[1] for l in lines if l.startswith("@@P2PBUF-DEMO-RC ")), None)
    results = [("demo@exit", "pass" if rc == "0" else "fail",
                f"demo.sh exit status {rc}")]
    expect = {
        "switch": [r"^Decision: PEER-TO-PEER", r"^Bytes through system memory: 0 (B )?of",
                   r"^Result: OK, data verified"],
        "rootports": [r"^Decision: STAGED through system memory",
                      r"^Reason: .*(switch|host bridge)",
                      r"^Result: OK, data verified"],
    }
    for name, patterns in expect.items():
        text = sections.get(name, [])
        missing = [p for p in patterns if not any(re.search(p, l) for l in text)]
        results.append((f"demo@{name}", "fail" if missing else "pass",
                        f"missing {missing}" if missing else "shown"))
    results += judge_demo_observed(sections)
    if any(v == "fail" for _, v, _ in results):
        for l in lines[-60:]:
            print(f"[demo] {l}")
    return results


def judge_demo_observed(sections):
    """The demo's decision against the hardware: observe-lastdma, run right
    after `p2pctl share`, reads the NIC's last DMA address (its write of the
    buffer's last chunk) and says whether it lies in the GPU's BAR. A
    PEER-TO-PEER decision with 0 bytes through system memory must show
    where=bar (where=iova-bar behind an IOMMU); STAGED must show
    where=system."""
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


def judge(topology, text):
    """Returns a list of (name, verdict, detail) for one topology's log."""
    lines = [ANSI_RE.sub("", l).rstrip("\r") for l in text.splitlines()]
    if topology == "static":
        return judge_static(lines)
    if topology == "demo":
        return judge_demo(lines)
    results = []
    current = None
    seen_subtests = {}
    taint = None
    ended = False
    listed = {}
    for line in lines:
        m = re.match(r"^@@P2PBUF-SUBTESTS (\S+) ?(.*)$", line)
        if m:
            listed[m.group(1)] = m.group(2).split()
            continue
        m = re.match(r"^@@P2PBUF-TEST (\S+)$", line)
        if m:
            current = m.group(1)
            seen_subtests[current] = []
            continue
        m = re.match(r"^@@P2PBUF-TEST-END (\S+) rc=(\d+)$", line)
        if m:
            name, rc = m.group(1), int(m.group(2))
            subs = seen_subtests.get(name, [])
            if rc not in (0, 77) and not any(v == "fail" for _, v in subs):
                results.append((f"{name}@exit", "fail", f"exit code {rc}"))
            if rc == 77 and not subs:
                results.append((f"{name}@all", "skip", "all subtests skipped"))
            reported = {s for s, _ in subs}
            for sub in listed.get(name, []):
                if sub not in reported and subs:
                    results.append((f"{name}@{sub}", "fail",
                                    f"listed but never reported (exit code {rc})"))
            current = None
            continue
        m = SUBTEST_RE.match(line)
        if m and current:
            verdict = STATUS.get(m.group(2), "fail")
            seen_subtests[current].append((m.group(1), verdict))
            results.append((f"{current}@{m.group(1)}", verdict, line))
            print(f"[{topology}] {current}: {line}")
            continue
        m = re.match(r"^@@P2PBUF-LOAD-FAIL (\S+)", line)
        if m:
            results.append((f"load@{m.group(1)}", "fail", "module did not load"))
        m = re.match(r"^@@P2PBUF-NOT-BUILT (\S+)", line)
        if m:
            results.append((f"load@{m.group(1)}", "skip", "module not built: no sources in the tree"))
        m = re.match(r"^@@P2PBUF-UNLOAD-FAIL (\S+)", line)
        if m:
            results.append((f"unload@{m.group(1)}", "fail", "module did not unload"))
        m = re.match(r"^@@P2PBUF-TAINT (\d+)", line)
        if m:
            taint = int(m.group(1))
        if line == "@@P2PBUF-END":
            ended = True
    if current:
        results.append((f"{current}@exit", "fail", "the VM stopped inside this test"))

    splats = find_splats(lines)
    bad_taint = taint is not None and taint & ~ALLOWED_TAINT
    if topology == "detector":
        ok = ended and any("p2p_splat" in l for l in lines) and splats and bad_taint
        results.append(("detector@splat-detected", "pass" if ok else "fail",
                        "the detector saw the deliberate WARN" if ok else
                        "the deliberate WARN was NOT detected"))
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


def main(paths):
    table = []
    totals = {"pass": 0, "fail": 0, "skip": 0}
    failures = []
    for path in paths:
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
        results = judge(topology, text) + judge_host(path + ".host")
        counts = {"pass": 0, "fail": 0, "skip": 0}
        for name, verdict, detail in results:
            counts[verdict] += 1
            if verdict == "fail":
                failures.append(f"[{topology}] FAIL {name}: {detail}")
                print(failures[-1])
        for k in totals:
            totals[k] += counts[k]
        table.append((topology, counts))
    print()
    print(f"{'topology':<12} {'passed':>7} {'failed':>7} {'skipped':>8}")
    for topology, c in table:
        print(f"{topology:<12} {c['pass']:>7} {c['fail']:>7} {c['skip']:>8}")
    # Repeated next to the summary: CI shows only the end of the output.
    if failures:
        print()
        for line in failures[:MAX_FAILURES_REPEATED]:
            print(line[:300])
        if len(failures) > MAX_FAILURES_REPEATED:
            print(f"... and {len(failures) - MAX_FAILURES_REPEATED} more failures above")
    print()
    print(f"{totals['pass']} passed, {totals['fail']} failed, {totals['skip']} skipped")
    return 1 if totals["fail"] or not paths else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
