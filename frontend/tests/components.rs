//! Component tests in a real browser (headless Chromium via
//! wasm-bindgen-test-runner): each component mounted alone with signals.

use leptos::prelude::*;
use leptos::task::tick;
use shared::client::{ConnectionState, Me, PresenceView};
use shared::events::{OnlineUser, Presence, SessionId, PRESENCE_WINDOW};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlButtonElement, HtmlElement, HtmlInputElement};

use frontend::components::{status_text, NameForm, OnlineList, Status};

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// A fresh container per test, so tests do not see each other's DOM.
fn container() -> HtmlElement {
    let el: HtmlElement = document().create_element("div").unwrap().unchecked_into();
    document().body().unwrap().append_child(&el).unwrap();
    el
}

fn find<T: JsCast>(root: &HtmlElement, selector: &str) -> T {
    root.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("no {selector}"))
        .unchecked_into()
}

fn text(root: &HtmlElement, selector: &str) -> String {
    find::<HtmlElement>(root, selector)
        .text_content()
        .unwrap_or_default()
}

fn type_into(input: &HtmlInputElement, value: &str) {
    input.set_value(value);
    let event = web_sys::Event::new("input").unwrap();
    input.dispatch_event(&event).unwrap();
}

fn press_enter(input: &HtmlInputElement) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key("Enter");
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    input.dispatch_event(&event).unwrap();
}

fn name_form(root: &HtmlElement, me: RwSignal<Me>) -> RwSignal<Vec<String>> {
    let submitted = RwSignal::new(Vec::<String>::new());
    let on_submit = Callback::new(move |name: String| submitted.update(|v| v.push(name)));
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! { <NameForm me=me on_submit=on_submit/> }
    });
    handle.forget();
    submitted
}

#[wasm_bindgen_test]
async fn invalid_name_shows_the_reason_and_disables_submit() {
    let root = container();
    let me = RwSignal::new(Me::Anonymous);
    let submitted = name_form(&root, me);
    tick().await;
    let input: HtmlInputElement = find(&root, "input#name");
    let button: HtmlButtonElement = find(&root, "button");
    assert!(button.disabled(), "empty name: nothing to send");
    assert_eq!(
        text(&root, "[data-testid=problem]"),
        "",
        "no scolding before typing"
    );

    type_into(&input, &"x".repeat(33));
    tick().await;
    assert!(button.disabled());
    assert_eq!(
        text(&root, "[data-testid=problem]"),
        "Names can be at most 32 characters long (this one has 33)."
    );
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));

    type_into(&input, "a\u{202E}b");
    tick().await;
    assert!(text(&root, "[data-testid=problem]").contains("U+202E"));
    press_enter(&input);
    button.click();
    tick().await;
    assert!(
        submitted.get_untracked().is_empty(),
        "an invalid name is never sent"
    );

    type_into(&input, "   ");
    tick().await;
    assert_eq!(text(&root, "[data-testid=problem]"), "Please enter a name.");
}

#[wasm_bindgen_test]
async fn enter_submits_the_normalised_name() {
    let root = container();
    let submitted = name_form(&root, RwSignal::new(Me::Anonymous));
    tick().await;
    let input: HtmlInputElement = find(&root, "input#name");
    type_into(&input, "  Ada  ");
    tick().await;
    let button: HtmlButtonElement = find(&root, "button");
    assert!(!button.disabled());
    assert_eq!(text(&root, "[data-testid=problem]"), "");
    press_enter(&input);
    tick().await;
    assert_eq!(submitted.get_untracked(), vec!["Ada".to_owned()]);
    button.click();
    tick().await;
    assert_eq!(submitted.get_untracked().len(), 2, "the button submits too");
}

#[wasm_bindgen_test]
async fn me_shows_who_you_are_or_the_server_words() {
    let root = container();
    let me = RwSignal::new(Me::Anonymous);
    name_form(&root, me);
    tick().await;
    assert_eq!(text(&root, "[data-testid=me]"), "");
    me.set(Me::Identified { name: "Ada".into() });
    tick().await;
    assert_eq!(text(&root, "[data-testid=me]"), "You are Ada");
    me.set(Me::Refused {
        name: "Ada".into(),
        message: "Slow down: too many requests.".into(),
    });
    tick().await;
    assert_eq!(
        text(&root, "[data-testid=me]"),
        "Slow down: too many requests."
    );
}

#[wasm_bindgen_test]
async fn status_renders_every_state_in_a_live_region() {
    let root = container();
    let state = RwSignal::new(ConnectionState::Connecting { attempt: 0 });
    leptos::mount::mount_to(root.clone(), move || view! { <Status state=state/> }).forget();
    tick().await;
    let status: HtmlElement = find(&root, "[data-testid=status]");
    assert_eq!(status.get_attribute("aria-live").as_deref(), Some("polite"));
    assert_eq!(status.get_attribute("role").as_deref(), Some("status"));
    let cases = [
        (
            ConnectionState::Connecting { attempt: 0 },
            "Connecting…",
            "status connecting",
        ),
        (ConnectionState::Connected, "Connected", "status connected"),
        (
            ConnectionState::Reconnecting {
                attempt: 2,
                delay_ms: 2_400,
                retry_at_ms: 0,
            },
            "Reconnecting (attempt 2, next try in 3 s)",
            "status connecting",
        ),
        (
            ConnectionState::Offline {
                reason: "closed by the client".into(),
            },
            "Offline: closed by the client",
            "status offline",
        ),
    ];
    for (s, expected_text, expected_class) in cases {
        assert_eq!(status_text(&s), expected_text);
        state.set(s);
        tick().await;
        assert_eq!(status.text_content().unwrap(), expected_text);
        assert_eq!(status.class_name(), expected_class);
    }
}

fn user(i: usize, name: &str) -> OnlineUser {
    OnlineUser {
        id: SessionId(format!("s{i}")),
        name: name.to_owned(),
    }
}

#[wasm_bindgen_test]
async fn names_are_text_never_html() {
    let root = container();
    let mut view = PresenceView::default();
    let evil = "<img src=x onerror=alert(1)>";
    view.apply(&Presence::Snapshot {
        seq: 0,
        total: 2,
        users: vec![user(0, evil), user(1, "Ada")],
    });
    let presence = RwSignal::new(view);
    leptos::mount::mount_to(
        root.clone(),
        move || view! { <OnlineList presence=presence/> },
    )
    .forget();
    tick().await;
    assert!(
        root.query_selector("img").unwrap().is_none(),
        "no element was created"
    );
    let list: HtmlElement = find(&root, "[data-testid=online-list]");
    assert_eq!(list.children().length(), 2);
    assert_eq!(
        list.first_element_child().unwrap().text_content().unwrap(),
        evil
    );
    assert_eq!(text(&root, "[data-testid=online-count]"), "2");
}

#[wasm_bindgen_test]
async fn a_crowd_shows_the_window_and_a_count() {
    let root = container();
    let mut view = PresenceView::default();
    // The server names the first PRESENCE_WINDOW users and counts the rest.
    let users = (0..PRESENCE_WINDOW)
        .map(|i| user(i, &format!("user{i}")))
        .collect();
    view.apply(&Presence::Snapshot {
        seq: 0,
        total: 20_000,
        users,
    });
    let presence = RwSignal::new(view);
    leptos::mount::mount_to(
        root.clone(),
        move || view! { <OnlineList presence=presence/> },
    )
    .forget();
    tick().await;
    let list: HtmlElement = find(&root, "[data-testid=online-list]");
    assert_eq!(list.children().length() as usize, PRESENCE_WINDOW);
    assert_eq!(text(&root, "[data-testid=online-count]"), "20000");
    assert_eq!(text(&root, "[data-testid=online-more]"), "and 19900 more");
    // A delta updates it in place.
    presence.update(|p| {
        p.apply(&Presence::Delta {
            seq: 1,
            total: 19_999,
            changes: vec![
                shared::events::PresenceChange::Left {
                    id: SessionId("s0".into()),
                },
                shared::events::PresenceChange::Joined {
                    id: SessionId("s100".into()),
                    name: "user100".into(),
                },
            ],
        });
    });
    tick().await;
    assert_eq!(text(&root, "[data-testid=online-count]"), "19999");
    assert_eq!(
        list.first_element_child().unwrap().text_content().unwrap(),
        "user1"
    );
    assert_eq!(
        list.last_element_child().unwrap().text_content().unwrap(),
        "user100"
    );
    assert_eq!(text(&root, "[data-testid=online-more]"), "and 19899 more");
}

#[wasm_bindgen_test]
async fn the_browser_normalises_to_nfc_before_counting() {
    let root = container();
    let submitted = name_form(&root, RwSignal::new(Me::Anonymous));
    tick().await;
    let input: HtmlInputElement = find(&root, "input#name");
    let button: HtmlButtonElement = find(&root, "button");
    // 32 × ("e" + combining acute) is 64 scalars typed, 32 after NFC: allowed.
    type_into(&input, &"e\u{0301}".repeat(32));
    tick().await;
    assert!(
        !button.disabled(),
        "{}",
        text(&root, "[data-testid=problem]")
    );
    press_enter(&input);
    tick().await;
    assert_eq!(submitted.get_untracked(), vec!["\u{00E9}".repeat(32)]);
    type_into(&input, &"e\u{0301}".repeat(33));
    tick().await;
    assert!(button.disabled());
}
