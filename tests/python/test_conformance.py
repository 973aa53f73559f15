"""The official Jupyter kernel conformance suite (jupyter_kernel_test), with
every sample filled in, run against the real sluice kernel."""

import time
import unittest

import jupyter_kernel_test as jkt

HTML = 'println!("EVCXR_BEGIN_CONTENT text/html\\n<b>bold</b>\\nEVCXR_END_CONTENT");'


class SluiceConformance(jkt.KernelTests):
    kernel_name = "sluice"
    language_name = "rust"
    file_extension = ".rs"

    code_hello_world = 'println!("hello, world");'
    code_stderr = 'eprintln!("to stderr");'

    completion_samples = [
        {"text": "let mut v: Vec<i32> = Vec::new(); v.drai", "matches": {"drain"}},
        {"text": "%%sl", "matches": {"%%slurm"}},
    ]
    complete_code_samples = ["1 + 1", "fn f() {}", "let s = \"{\";", "%%slurm map xs\nfn f(x: i32) -> i32 { x }"]
    incomplete_code_samples = ["fn f() {", "let v = vec![1,", "let s = \"open", "%%slurm map xs\nfn f(x: i32) -> i32 {"]
    invalid_code_samples = ["fn f() { )", "}"]

    code_generate_error = "let x: i32 = \"not a number\";"
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "String::from(\"ab\") + \"c\"", "result": "\"abc\""},
    ]
    code_display_data = [{"code": HTML, "mime": "text/html"}]

    code_history_pattern = "6*7"
    supported_history_operations = ("tail", "range", "search")

    code_inspect_sample = "Vec"
    code_page_something = "?Vec"
    code_clear_output = "sluice::clear_output(false);"


class SluiceIopubWelcome(jkt.IopubWelcomeTests):
    kernel_name = "sluice"
    support_iopub_welcome = True

    @classmethod
    def tearDownClass(cls):
        # The upstream test ends as soon as the welcome arrives; the heartbeat
        # channel creates its socket on its own thread and must have done so
        # before the channels stop (else that thread fails on a closed context).
        deadline = time.monotonic() + 10
        while cls.kc.hb_channel.socket is None and time.monotonic() < deadline:
            time.sleep(0.05)
        super().tearDownClass()


if __name__ == "__main__":
    unittest.main()
