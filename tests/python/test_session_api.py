"""What the kernel gives cells beyond evcxr (engine/session_api.rs and
engine/pager.rs): `sluice::clear_output(wait)` becomes Jupyter's
clear_output, in order with the text around it, and survives `:clear`;
`?name` opens the pager with the name's documentation."""

from conftest import run_cell


def kinds(c):
    out = []
    for m in c.outputs:
        if m["msg_type"] == "stream":
            out.append(("stream", m["content"]["text"]))
        elif m["msg_type"] == "clear_output":
            out.append(("clear", m["content"]["wait"]))
    return out


def test_clear_output_in_order_with_the_text(kernel):
    _, kc = kernel
    c = run_cell(kc, 'println!("first");\nsluice::clear_output(true);\nprintln!("second");\n'
                     'sluice::clear_output(false);\nprintln!("third");')
    assert c.status == "ok", c.error()
    assert kinds(c) == [("stream", "first\n"), ("clear", True), ("stream", "second\n"),
                        ("clear", False), ("stream", "third\n")], c.outputs


def test_clear_output_survives_clear(kernel):
    _, kc = kernel
    assert run_cell(kc, ":clear").status == "ok"
    c = run_cell(kc, "sluice::clear_output(false);")
    assert c.status == "ok", c.error()
    assert kinds(c) == [("clear", False)]
    # the display trait came back with it: one compile still shows values
    c = run_cell(kc, "vec![1, 2]")
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "[1, 2]"


def test_question_mark_opens_the_pager(kernel):
    _, kc = kernel
    c = run_cell(kc, "?Vec")
    assert c.status == "ok", c.error()
    payload = c.reply["content"]["payload"]
    assert len(payload) == 1 and payload[0]["source"] == "page", payload
    text = payload[0]["data"]["text/plain"]
    assert "Vec" in text and len(text) > 40, text
    assert not c.of_type("execute_result")


def test_question_mark_on_an_unknown_name(kernel):
    _, kc = kernel
    c = run_cell(kc, "?NoSuchThingAnywhere")
    assert c.status == "ok"
    assert c.reply["content"]["payload"] == []
    assert "No documentation found for `NoSuchThingAnywhere`" in c.stream()
    # `name?` stays Rust's `?` operator
    c = run_cell(kc, 'let r: Result<i32, String> = Ok(3);\nlet v = r?;\nv')
    assert c.status == "ok", c.error()
    assert c.of_type("execute_result")[0]["content"]["data"]["text/plain"] == "3"
