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


def test_display_shows_at_once_in_order(kernel):
    _, kc = kernel
    c = run_cell(kc, 'for i in 1..=2 {\n'
                     '    println!("row {i}");\n'
                     '    sluice::display("text/html", &format!("<b>{i}</b>"));\n'
                     '}\n'
                     'sluice::display("application/json", "{\\"k\\": [1, 2]}");')
    assert c.status == "ok", c.error()
    seen = [(m["msg_type"], m["content"].get("text") or m["content"].get("data"))
            for m in c.outputs if m["msg_type"] in ("stream", "display_data")]
    assert seen == [("stream", "row 1\n"), ("display_data", {"text/html": "<b>1</b>"}),
                    ("stream", "row 2\n"), ("display_data", {"text/html": "<b>2</b>"}),
                    ("display_data", {"application/json": {"k": [1, 2]}})], seen


def test_display_in_updates_the_same_display(kernel):
    _, kc = kernel
    c = run_cell(kc, 'sluice::display_in("my progress", "text/plain", "0 %");\n'
                     'sluice::display_in("my progress", "text/plain", "50 %");')
    assert c.status == "ok", c.error()
    first, second = c.outputs
    assert first["msg_type"] == "display_data" and first["content"]["data"] == {"text/plain": "0 %"}
    display_id = first["content"]["transient"]["display_id"]
    assert second["msg_type"] == "update_display_data"
    assert second["content"]["transient"]["display_id"] == display_id
    # a later cell updates the display where it is
    c = run_cell(kc, 'sluice::display_in("my progress", "text/plain", "100 %");')
    (upd,) = c.outputs
    assert upd["msg_type"] == "update_display_data" and upd["content"]["data"] == {"text/plain": "100 %"}
    assert upd["content"]["transient"]["display_id"] == display_id


def test_an_unfinished_display_block_is_shown_as_text(kernel):
    _, kc = kernel
    c = run_cell(kc, 'println!("SLUICE_BEGIN_DISPLAY text/html");\nprintln!("<p>never ended</p>");')
    assert c.status == "ok", c.error()
    assert "<p>never ended</p>" in c.stream(), c.outputs
    assert not c.of_type("display_data")
    c = run_cell(kc, 'println!("next cell");')
    assert c.stream() == "next cell\n"
