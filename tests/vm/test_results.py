#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of results.py, the judge every VM verdict goes through.

A judge that passes a broken run hides every bug behind it, so each way a
guest can fail is fed to it here as a small synthetic serial log.
"""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402

OUT_OF_TREE = "[   20.100000] p2pgpu: loading out-of-tree module taints kernel."


def guest_log(subtests=("a", "b"), outcomes=None, rc=0, taint=4096,
              dmesg=(OUT_OF_TREE,), ended=True, test_end=True):
    """A serial log shaped like guest-run.sh's, one binary "p2p_t"."""
    outcomes = outcomes or {s: "SUCCESS" for s in subtests}
    lines = ["@@P2PBUF-BEGIN topology=switch kernel=6.12.117",
             "@@P2PBUF-LOAD p2pgpu ok",
             f"@@P2PBUF-SUBTESTS p2p_t {' '.join(subtests)}",
             "@@P2PBUF-TEST p2p_t"]
    lines += [f"Subtest {s}: {v} (0.010s)" for s, v in outcomes.items()]
    if test_end:
        lines.append(f"@@P2PBUF-TEST-END p2p_t rc={rc}")
    lines.append(f"@@P2PBUF-TAINT {taint}")
    lines += ["@@P2PBUF-DMESG-BEGIN", "[    0.000000] Linux version 6.12.117",
              *dmesg, "@@P2PBUF-DMESG-END"]
    if ended:
        lines.append("@@P2PBUF-END")
    return "\r\n".join(lines) + "\r\n"


def verdicts(topology, text):
    with contextlib.redirect_stdout(io.StringIO()):
        return {name: (verdict, detail)
                for name, verdict, detail in results.judge(topology, text)}


class JudgeTest(unittest.TestCase):
    def test_clean_run_passes(self):
        v = verdicts("switch", guest_log())
        self.assertEqual(v["p2p_t@a"][0], "pass")
        self.assertEqual(v["p2p_t@b"][0], "pass")
        self.assertEqual(v["kernel@log-clean"][0], "pass")
        self.assertNotIn("vm@completed", v)

    def test_failed_subtest_fails(self):
        v = verdicts("switch", guest_log(outcomes={"a": "SUCCESS", "b": "FAIL"}, rc=98))
        self.assertEqual(v["p2p_t@b"][0], "fail")

    def test_crash_and_timeout_fail(self):
        v = verdicts("switch", guest_log(outcomes={"a": "CRASH", "b": "TIMEOUT"}, rc=99))
        self.assertEqual(v["p2p_t@a"][0], "fail")
        self.assertEqual(v["p2p_t@b"][0], "fail")

    def test_skip_is_counted_as_skip(self):
        v = verdicts("switch", guest_log(outcomes={"a": "SUCCESS", "b": "SKIP"}))
        self.assertEqual(v["p2p_t@b"][0], "skip")

    def test_listed_but_unreported_subtest_fails(self):
        v = verdicts("switch", guest_log(outcomes={"a": "SUCCESS"}, rc=139))
        self.assertEqual(v["p2p_t@b"][0], "fail")
        self.assertIn("never reported", v["p2p_t@b"][1])

    def test_nonzero_exit_without_failed_subtest_fails(self):
        v = verdicts("switch", guest_log(rc=1))
        self.assertEqual(v["p2p_t@exit"][0], "fail")

    def test_vm_stopped_inside_a_test_fails(self):
        v = verdicts("switch", guest_log(outcomes={"a": "SUCCESS"}, test_end=False, ended=False))
        self.assertEqual(v["p2p_t@exit"][0], "fail")
        self.assertEqual(v["vm@completed"][0], "fail")
        self.assertEqual(v["kernel@log-clean"][0], "fail")

    def test_missing_end_names_the_last_line(self):
        v = verdicts("switch", guest_log(ended=False) + "Kernel offset: disabled\r\n")
        self.assertEqual(v["vm@completed"][0], "fail")
        self.assertIn("Kernel offset: disabled", v["vm@completed"][1])

    def test_splat_after_our_load_fails_the_topology(self):
        warn = "[   30.000000] WARNING: CPU: 1 PID: 77 at exporter/p2pgpu_dmabuf.c:10"
        v = verdicts("switch", guest_log(dmesg=(OUT_OF_TREE, warn)))
        self.assertEqual(v["p2p_t@a"][0], "pass")
        self.assertEqual(v["kernel@log-clean"][0], "fail")
        self.assertNotIn("before any out-of-tree module", v["kernel@log-clean"][1])

    def test_boot_splat_is_attributed_to_the_boot(self):
        kasan = "[    0.004509] BUG: KASAN: wild-memory-access in rcu_is_watching+0x24/0x3a"
        v = verdicts("switch", guest_log(dmesg=(kasan, OUT_OF_TREE)))
        self.assertEqual(v["kernel@log-clean"][0], "fail")
        self.assertIn("rcu_is_watching", v["kernel@log-clean"][1])
        self.assertIn("before any out-of-tree module loaded", v["kernel@log-clean"][1])

    def test_each_debugger_report_is_a_splat(self):
        for report in ("BUG: KASAN: slab-use-after-free in p2pgpu_gem_free",
                       "WARNING: possible circular locking dependency detected",
                       "unreferenced object 0xffff888012345678 (size 64):",
                       "DMA-API: p2prdma 0000:03:00.0: device driver frees DMA memory",
                       "BUG: sleeping function called from invalid context",
                       "DMAR: [DMA Read NO_PASID] Request device [03:00.0] fault",
                       "x86/PAT: p2pctl:77 map pfn RAM range req write-combining "
                       "for [mem 0x1000-0x1fff], got write-back conflicting memory types"):
            with self.subTest(report=report):
                v = verdicts("switch", guest_log(dmesg=(OUT_OF_TREE, "[ 40.0] " + report)))
                self.assertEqual(v["kernel@log-clean"][0], "fail")

    def test_dma_api_debug_banner_is_not_a_splat(self):
        v = verdicts("switch", guest_log(dmesg=("[ 0.5] DMA-API: preallocated 65536 debug entries",
                                                "[ 0.5] DMA-API: debugging enabled by kernel config",
                                                OUT_OF_TREE)))
        self.assertEqual(v["kernel@log-clean"][0], "pass")

    def test_taint_beyond_out_of_tree_fails(self):
        v = verdicts("switch", guest_log(taint=4096 | 128))
        self.assertEqual(v["kernel@log-clean"][0], "fail")

    def test_detector_passes_only_when_the_warn_is_seen(self):
        warn = "[   30.000000] WARNING: CPU: 0 PID: 9 at tests/p2p_splat.c:20 p2p_splat_warn"
        seen = verdicts("detector", guest_log(taint=4096 | 512, dmesg=(OUT_OF_TREE, warn)))
        self.assertEqual(seen["detector@splat-detected"][0], "pass")
        missed = verdicts("detector", guest_log())
        self.assertEqual(missed["detector@splat-detected"][0], "fail")


class SummaryTest(unittest.TestCase):
    def run_main(self, logs):
        with tempfile.TemporaryDirectory() as d:
            paths = []
            for topology, text in logs.items():
                paths.append(os.path.join(d, f"{topology}.log"))
                with open(paths[-1], "w") as f:
                    f.write(text)
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                rc = results.main(paths)
        return rc, out.getvalue().splitlines()

    def test_summary_counts_and_exit_status(self):
        rc, out = self.run_main({"switch": guest_log(outcomes={"a": "SUCCESS", "b": "SKIP"})})
        self.assertEqual(rc, 0)
        # a, b and kernel@log-clean
        self.assertEqual(out[-1], "2 passed, 0 failed, 1 skipped")

    def test_failure_repeated_above_the_summary(self):
        rc, out = self.run_main({"switch": guest_log(outcomes={"a": "SUCCESS", "b": "FAIL"}, rc=98)})
        self.assertEqual(rc, 1)
        self.assertEqual(out[-1], "2 passed, 1 failed, 0 skipped")
        self.assertIn("[switch] FAIL p2p_t@b", out[-3])

    def test_no_logs_is_a_failure(self):
        rc, _ = self.run_main({})
        self.assertEqual(rc, 1)


if __name__ == "__main__":
    unittest.main()
