#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of results.py, the judge every VM verdict goes through.

A judge that passes a broken run hides every bug behind it, so each way a
guest can fail is fed to it here as a small synthetic serial log.
"""
import contextlib
import io
import os
import re
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402

OUT_OF_TREE = "[   20.100000] p2pgpu: loading out-of-tree module taints kernel."
ALIVE = "lockdep_debug_locks=1 dma_api_error_count=0 dma_api_disabled=N kmemleak=scanned"

# The manifest the synthetic logs are judged against: one binary, p2p_t,
# whose subtest b may skip in switch only.
MANIFEST_TEXT = """
group vms switch,stock,detector
run @vms p2p_t 60
skip switch p2p_t@b b needs a feature only switch may lack
debuggers switch,detector lockdep dma-api kmemleak
debuggers stock none the stock kernel has no debuggers
splats detector warn
checks static sparse checkpatch
"""
MANIFEST = results.Manifest(MANIFEST_TEXT)


def guest_log(subtests=("a", "b"), outcomes=None, rc=0, taint=4096,
              dmesg=(OUT_OF_TREE,), ended=True, test_end=True, debuggers=ALIVE,
              before=(), output=(), after=()):
    """A serial log shaped like guest-run.sh's, one binary "p2p_t"."""
    outcomes = outcomes if outcomes is not None else {s: "SUCCESS" for s in subtests}
    lines = ["@@P2PBUF-BEGIN topology=switch kernel=6.12.117 mode=test t=9.50",
             "@@P2PBUF-LOAD p2pgpu ok", *before,
             f"@@P2PBUF-SUBTESTS p2p_t {' '.join(subtests)}",
             "@@P2PBUF-TEST p2p_t t=10.00 timeout=60", *output]
    lines += [f"Subtest {s}: {v} (0.010s)" for s, v in outcomes.items()]
    if test_end:
        lines.append(f"@@P2PBUF-TEST-END p2p_t rc={rc} t=12.25")
    lines += after
    if debuggers is not None:
        lines.append(f"@@P2PBUF-DEBUGGERS {debuggers}")
    lines.append(f"@@P2PBUF-TAINT {taint}")
    lines += ["@@P2PBUF-DMESG-BEGIN", "[    0.000000] Linux version 6.12.117",
              *dmesg, "@@P2PBUF-DMESG-END"]
    if ended:
        lines.append("@@P2PBUF-END t=30.00")
    return "\r\n".join(lines) + "\r\n"


def verdicts(topology, text, tests=None, manifest=MANIFEST):
    with contextlib.redirect_stdout(io.StringIO()):
        return {name: (verdict, detail)
                for name, verdict, detail in results.judge(topology, text, manifest, tests)}


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
    def run_main(self, logs, extra=()):
        with tempfile.TemporaryDirectory() as d:
            paths = ["--manifest", os.path.join(d, "manifest"), *extra]
            with open(paths[1], "w") as f:
                f.write(MANIFEST_TEXT)
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


class CannotBeFooledTest(unittest.TestCase):
    """Broken harnesses that once produced an all-green run (issue 10)."""

    def assertRunFails(self, topology, text, name, words=(), extra=()):
        """Judged FAILED as a whole (the exit status CI sees), for `name`."""
        rc, out = SummaryTest.run_main(self, {topology: text}, extra)
        self.assertEqual(rc, 1, "\n".join(out))
        self.assertRegex(out[-1], r"^\d+ passed, [1-9]\d* failed")
        v = verdicts(topology, text, tests=list(extra[1:]) or None)
        self.assertIn(name, v)
        self.assertEqual(v[name][0], "fail")
        for w in words:
            self.assertIn(w, v[name][1])

    def test_module_not_built_fails(self):
        # p2prdma never built: every test that needs it skips
        text = guest_log(outcomes={"a": "SKIP", "b": "SKIP"}, rc=77,
                         before=["@@P2PBUF-NOT-BUILT p2prdma"])
        self.assertRunFails("switch", text, "load@p2prdma", ["not built"])
        self.assertEqual(verdicts("switch", text)["p2p_t@a"][0], "fail")

    def test_no_binary_ran_fails(self):
        text = "\r\n".join(l for l in guest_log().split("\r\n")
                            if "p2p_t" not in l and not l.startswith("Subtest"))
        self.assertRunFails("switch", text, "p2p_t@ran", ["never started"])

    def test_missing_binary_fails(self):
        text = "\r\n".join(["@@P2PBUF-MISSING p2p_t" if "@@P2PBUF-SUBTESTS" in l else l
                             for l in guest_log().split("\r\n")
                             if not re.search(r"@@P2PBUF-TEST|^Subtest", l)])
        self.assertRunFails("switch", text, "p2p_t@ran", ["not built"])

    def test_exit_0_without_subtests_fails(self):
        self.assertRunFails("switch", guest_log(outcomes={}, rc=0), "p2p_t@exit",
                            ["without reporting any subtest"])

    def test_exit_77_before_any_subtest_fails(self):
        text = guest_log(outcomes={}, rc=77, output=[
            "Test requirement not met in function __igt_fixture, file p2p_t.c:12:",
            "Test requirement: gpu >= 0", "no p2pgpu device"])
        self.assertRunFails("switch", text, "p2p_t@exit", ["exited 77", "no p2pgpu device"])

    def test_kmemleak_disabled_fails(self):
        off = "[   50.000000] kmemleak: Kernel memory leak detector disabled"
        text = guest_log(dmesg=(OUT_OF_TREE, off), debuggers=ALIVE.replace(
            "kmemleak=scanned", "kmemleak=scan-refused"))
        self.assertRunFails("switch", text, "debug@kmemleak",
                            ["scan-refused", "Kernel memory leak detector disabled"])
        # the kernel's word alone is enough
        self.assertRunFails("switch", guest_log(dmesg=(OUT_OF_TREE, off)), "debug@kmemleak")

    def test_lockdep_off_without_taint_or_console_report_fails(self):
        # the report scrolled off; no taint; only debug_locks tells
        text = guest_log(debuggers=ALIVE.replace("lockdep_debug_locks=1", "lockdep_debug_locks=0"))
        self.assertEqual(verdicts("switch", text)["kernel@log-clean"][0], "pass")
        self.assertRunFails("switch", text, "debug@lockdep", ["debug_locks=0"])

    def test_dma_api_errors_or_disabled_fail(self):
        for state in ("dma_api_error_count=2 dma_api_disabled=N",
                      "dma_api_error_count=0 dma_api_disabled=Y"):
            with self.subTest(state=state):
                text = guest_log(debuggers=ALIVE.replace(
                    "dma_api_error_count=0 dma_api_disabled=N", state))
                self.assertRunFails("switch", text, "debug@dma-api")

    def test_debuggers_missing_in_a_debug_kernel_fails(self):
        self.assertRunFails("switch", guest_log(debuggers=None), "debug@alive")
        absent = "lockdep_debug_locks=absent dma_api_error_count=absent " \
                 "dma_api_disabled=absent kmemleak=absent"
        v = verdicts("switch", guest_log(debuggers=absent))
        for name in ("debug@lockdep", "debug@dma-api", "debug@kmemleak"):
            self.assertEqual(v[name][0], "fail")

    def test_stock_has_no_debuggers_by_design(self):
        absent = "lockdep_debug_locks=absent dma_api_error_count=absent " \
                 "dma_api_disabled=absent kmemleak=absent"
        rc, out = SummaryTest.run_main(self, {"stock": guest_log(
            outcomes={"a": "SUCCESS", "b": "SUCCESS"}, debuggers=absent)})
        self.assertEqual(rc, 0, "\n".join(out))
        self.assertTrue(any("none by design" in l for l in out))

    def test_guest_that_never_started_is_one_failure(self):
        v = verdicts("switch", "")
        self.assertEqual(v["vm@completed"][0], "fail")
        self.assertNotIn("p2p_t@ran", v)
        self.assertNotIn("debug@alive", v)

    def test_topology_without_debuggers_line_fails(self):
        manifest = results.Manifest("run hostbridge p2p_t 60\n")
        v = verdicts("hostbridge", guest_log(), manifest=manifest)
        self.assertEqual(v["debug@manifest"][0], "fail")

    def test_unexpected_skip_fails(self):
        v = verdicts("switch", guest_log(outcomes={"a": "SKIP", "b": "SUCCESS"}, output=[
            "Test requirement not met in function main, file p2p_t.c:40:",
            "Test requirement: access(P2P_GPU_DRV \"/unbind\", W_OK) == 0"]))
        self.assertEqual(v["p2p_t@a"][0], "fail")
        self.assertIn("expects no skip", v["p2p_t@a"][1])
        self.assertIn("/unbind", v["p2p_t@a"][1])
        # b may skip in switch only
        v = verdicts("stock", guest_log(outcomes={"a": "SUCCESS", "b": "SKIP"}))
        self.assertEqual(v["p2p_t@b"][0], "fail")

    def test_expected_skip_that_passes_is_recorded(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            res = results.judge("switch", guest_log(), MANIFEST)
        self.assertIn(("p2p_t@b", "pass"), [(n, v) for n, v, _ in res])
        self.assertIn("passed where the manifest expects a skip", out.getvalue())

    def test_unlisted_binary_fails(self):
        v = verdicts("switch", guest_log(before=["@@P2PBUF-UNLISTED p2p_new"]))
        self.assertEqual(v["p2p_new@manifest"][0], "fail")

    def test_timeout_is_named(self):
        v = verdicts("switch", guest_log(outcomes={"a": "SUCCESS"}, rc=124))
        self.assertEqual(v["p2p_t@exit"][0], "fail")
        self.assertIn("60 s timeout", v["p2p_t@exit"][1])

    def test_a_narrowed_run_needs_only_what_it_selected(self):
        text = "\r\n".join(l for l in guest_log().split("\r\n")
                            if "p2p_t" not in l and not l.startswith("Subtest"))
        v = verdicts("switch", text, tests=["p2pgpu_*"])
        self.assertNotIn("p2p_t@ran", v)
        self.assertEqual(verdicts("switch", text, tests=["p2p_*"])["p2p_t@ran"][0], "fail")
        rc, _ = SummaryTest.run_main(self, {"switch": text}, ["--tests", "p2pgpu_*"])
        self.assertEqual(rc, 0)

    def test_time_table(self):
        rc, out = SummaryTest.run_main(self, {"switch": guest_log()})
        row = next(l for l in out if l.strip().startswith("p2p_t"))
        self.assertIn("2.2 s", row)
        self.assertIn("timeout    60 s", row)


class DetectorTest(unittest.TestCase):
    KINDS = {
        "lockdep": ["[ 40.0] WARNING: possible circular locking dependency detected",
                    "[ 40.0] ffffffffc0201040 (p2p_splat_lock_a){+.+.}-{4:4}, at: "
                    "p2p_splat_lockdep+0x3a/0x90 [p2p_splat]"],
        "warn": ["[ 41.0] WARNING: CPU: 1 PID: 300 at tests/kmod/p2p_splat.c:40 "
                 "p2p_splat_warn+0x1a/0x30 [p2p_splat]"],
        "atomic-sleep": ["[ 42.0] BUG: sleeping function called from invalid context at "
                         "tests/kmod/p2p_splat.c:120"],
        "dma-api": ["[ 43.0] DMA-API: platform p2p_splat: device driver tries to free DMA "
                    "memory it has not allocated [device address=0x0000000000001000] "
                    "[size=64 bytes]"],
        "kasan": ["[ 44.0] BUG: KASAN: slab-out-of-bounds in p2p_splat_kasan+0x5c/0xa0 "
                  "[p2p_splat]"],
        "kmemleak": ["unreferenced object 0xffff888004a1c000 (size 2048):"],
    }
    MANIFEST = results.Manifest("""
run detector p2pbuf_observe 60 --run-subtest data-path
expect-fail detector p2pbuf_observe@data-path p2p=0 while p2p is expected
debuggers detector lockdep dma-api kmemleak
splats detector lockdep warn atomic-sleep dma-api kmemleak kasan
""")
    DEAD = "lockdep_debug_locks=0 dma_api_error_count=1 dma_api_disabled=N kmemleak=scanned"

    def detector_log(self, kinds=None, observe="FAIL", debuggers=DEAD):
        kinds = list(self.KINDS) if kinds is None else kinds
        fired = [f"@@P2PBUF-SPLAT-FIRED {k} rc=0" for k in self.KINDS]
        if "kmemleak" in kinds:
            fired += ["@@P2PBUF-KMEMLEAK-BEGIN", *self.KINDS["kmemleak"],
                      "  backtrace (crc 5c6c4b32):", "    kmemleak_alloc+0x27/0x2a",
                      "    p2p_splat_kmemleak+0x2a/0x48 [p2p_splat]", "@@P2PBUF-KMEMLEAK-END"]
        dmesg = [OUT_OF_TREE, "[ 39.0] p2p_splat: loading out-of-tree module taints kernel."]
        for k in kinds:
            dmesg += self.KINDS[k]
        text = guest_log(subtests=("data-path",), outcomes={"data-path": observe} if observe
                         else {}, rc=98 if observe == "FAIL" else 0, taint=4096 | 512 | 32,
                         debuggers=debuggers, after=fired, dmesg=dmesg)
        return text.replace("p2p_t", "p2pbuf_observe")

    def test_every_kind_caught_passes(self):
        v = verdicts("detector", self.detector_log(), manifest=self.MANIFEST)
        failed = {n: d for n, (verdict, d) in v.items() if verdict == "fail"}
        self.assertEqual(failed, {})
        for kind in self.KINDS:
            self.assertEqual(v[f"detector@{kind}"][0], "pass")
        self.assertEqual(v["p2pbuf_observe@data-path"][0], "pass")

    def test_each_missing_kind_is_named(self):
        for kind in self.KINDS:
            with self.subTest(kind=kind):
                others = [k for k in self.KINDS if k != kind]
                v = verdicts("detector", self.detector_log(others), manifest=self.MANIFEST)
                self.assertEqual(v[f"detector@{kind}"][0], "fail")
                self.assertIn(kind, v[f"detector@{kind}"][1])

    def test_lockdep_and_dma_api_must_show_in_the_debuggers(self):
        v = verdicts("detector", self.detector_log(debuggers=ALIVE), manifest=self.MANIFEST)
        self.assertEqual(v["debug@lockdep"][0], "fail")
        self.assertEqual(v["debug@dma-api"][0], "fail")

    def test_broken_decision_must_fail_the_data_path(self):
        v = verdicts("detector", self.detector_log(observe="SUCCESS"), manifest=self.MANIFEST)
        self.assertEqual(v["p2pbuf_observe@data-path"][0], "fail")
        self.assertIn("must FAIL", v["p2pbuf_observe@data-path"][1])

    def test_observation_test_absent_is_said_clearly(self):
        text = "\r\n".join("@@P2PBUF-MISSING p2pbuf_observe" if "SUBTESTS" in l else l
                            for l in self.detector_log(observe=None).split("\r\n")
                            if not re.search(r"@@P2PBUF-TEST", l))
        v = verdicts("detector", text, manifest=self.MANIFEST)
        self.assertEqual(v["p2pbuf_observe@data-path"][0], "fail")
        self.assertIn("not built", v["p2pbuf_observe@data-path"][1])
        self.assertEqual(v["p2pbuf_observe@ran"][0], "fail")


class DemoAndStaticTest(unittest.TestCase):
    MANIFEST = results.Manifest("""
run switch,rootports p2p_t 60
debuggers switch,rootports lockdep dma-api kmemleak
demo switch,rootports
checks static tools sparse
""")
    SWITCH = ["Decision: PEER-TO-PEER (bus address, PCI p2p distance 2)",
              "Bytes through system memory: 0 B of 16384 B", "Result: OK, data verified",
              "@@P2PBUF-OBSERVE last-dma nic=0000:03:00.0 dir=from-ram src=0xfe003000 "
              "dst=0x40000 count=4096 addr=0xfe003000 bar=0xfe000000-0xfe3fffff "
              "gpu=0000:02:00.0 where=bar phys=0xfe003000"]
    ROOTPORTS = ["Decision: STAGED through system memory (PCI p2p distance -1)",
                 "Reason:   no common PCIe switch; host bridge not allow-listed (2)",
                 "Result: OK, data verified",
                 "@@P2PBUF-OBSERVE last-dma nic=0000:02:00.0 dir=from-ram src=0x5a3000 "
                 "dst=0x40000 count=4096 addr=0x5a3000 bar=0xfe000000-0xfe3fffff "
                 "gpu=0000:01:00.0 where=system phys=0x5a3000"]

    def demo_log(self, shown, rc=0):
        return guest_log(after=["@@P2PBUF-DEMO-BEGIN", "$ p2pctl share --size 16384",
                                *shown, f"@@P2PBUF-DEMO-END rc={rc}"])

    def test_folded_demo_judged(self):
        for topology, shown in (("switch", self.SWITCH), ("rootports", self.ROOTPORTS)):
            with self.subTest(topology=topology):
                v = verdicts(topology, self.demo_log(shown), manifest=self.MANIFEST)
                self.assertEqual(v[f"demo@{topology}"][0], "pass")
                self.assertEqual(v[f"demo@{topology}-observed"][0], "pass")
                self.assertEqual(v["demo@exit"][0], "pass")

    def test_folded_demo_wrong_or_missing_fails(self):
        v = verdicts("switch", self.demo_log(self.ROOTPORTS), manifest=self.MANIFEST)
        self.assertEqual(v["demo@switch"][0], "fail")
        # p2p said, the NIC's DMA seen in system memory: the self-report lied
        lie = [l.replace("where=bar", "where=system") for l in self.SWITCH]
        v = verdicts("switch", self.demo_log(lie), manifest=self.MANIFEST)
        self.assertEqual(v["demo@switch"][0], "pass")
        self.assertEqual(v["demo@switch-observed"][0], "fail")
        v = verdicts("rootports", self.demo_log(self.ROOTPORTS, rc=1), manifest=self.MANIFEST)
        self.assertEqual(v["demo@exit"][0], "fail")
        v = verdicts("switch", guest_log(), manifest=self.MANIFEST)
        self.assertEqual(v["demo@ran"][0], "fail")
        # narrowed runs do not fold the demo in
        v = verdicts("switch", guest_log(), tests=["p2p_t"], manifest=self.MANIFEST)
        self.assertNotIn("demo@ran", v)

    def test_demo_sh_vm_log_is_judged_as_demo(self):
        text = guest_log(outcomes={}, subtests=()).replace("mode=test", "mode=demo")
        text = "\r\n".join(l for l in text.split("\r\n") if "p2p_t" not in l)
        v = verdicts("demo-switch", text, manifest=self.MANIFEST)
        self.assertEqual(v["demo@ran"][0], "fail")
        self.assertNotIn("p2p_t@ran", v)
        ok = text.replace("@@P2PBUF-DEBUGGERS", "\r\n".join(
            ["@@P2PBUF-DEMO-BEGIN", *self.SWITCH, "@@P2PBUF-DEMO-END rc=0",
             "@@P2PBUF-DEBUGGERS"]))
        v = verdicts("demo-switch", ok, manifest=self.MANIFEST)
        self.assertEqual({n for n, (verdict, _) in v.items() if verdict == "fail"}, set())

    def test_static_skip_or_missing_check_fails(self):
        v = verdicts("static", "@@P2PBUF-STATIC tools pass\n"
                     "@@P2PBUF-STATIC sparse skip sparse is not installed\n",
                     manifest=self.MANIFEST)
        self.assertEqual(v["static@sparse"][0], "fail")
        v = verdicts("static", "@@P2PBUF-STATIC sparse pass\n", manifest=self.MANIFEST)
        self.assertEqual(v["static@tools"][0], "fail")


class RealManifestTest(unittest.TestCase):
    """The manifest make check runs from."""

    def setUp(self):
        self.m = results.Manifest.load()

    def test_every_test_source_runs_somewhere(self):
        igt = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "igt")
        for src in os.listdir(igt):
            if src.endswith(".c"):
                self.assertIn(src[:-2], self.m.all_binaries(), f"{src}: no 'run' line")

    def test_every_vm_topology_knows_its_debuggers(self):
        for t in ("switch", "rootports", "hostbridge", "iommu", "stock", "multi", "detector"):
            with self.subTest(topology=t):
                self.assertIsNotNone(self.m.debuggers(t))
                self.assertTrue(self.m.runs(t))
        self.assertEqual(self.m.debuggers("stock")[0], set())
        self.assertEqual(self.m.debuggers("switch")[0], {"lockdep", "dma-api", "kmemleak"})

    def test_detector_fires_every_kind_the_judge_knows(self):
        self.assertEqual(set(self.m.splats("detector")), set(results.SPLAT_KINDS))

    def test_expected_skips_are_of_binaries_that_run_there(self):
        for k, spec, args, number in self.m.lines:
            if k in ("skip", "expect-fail"):
                binary = args[0].split("@")[0]
                for t in self.m.topologies(spec):
                    self.assertIn(binary, [r[0] for r in self.m.runs(t)],
                                  f"manifest line {number}: {binary} does not run in {t}")
                self.assertTrue(args[1:], f"manifest line {number}: no reason")


if __name__ == "__main__":
    unittest.main()
