//! Component tests in a real browser (headless Chromium via
//! wasm-bindgen-test-runner): each component mounted alone with signals.

use app_client::{ConnectionState, Me, PresenceView};
use leptos::prelude::*;
use leptos::task::tick;
use shared::events::{Look, OnlineUser, Presence, SessionId, PRESENCE_WINDOW};
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
        look: Look::UNKNOWN,
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
                    look: Look::UNKNOWN,
                },
            ],
            prev: None,
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

/// The page runs the invisible-character and mark rules too, after its own NFC.
#[wasm_bindgen_test]
async fn invisible_and_stacked_names_show_why_in_the_form() {
    let root = container();
    let submitted = name_form(&root, RwSignal::new(Me::Anonymous));
    tick().await;
    let input: HtmlInputElement = find(&root, "input#name");
    let button: HtmlButtonElement = find(&root, "button");
    let cases = [
        ("\u{3164}", "Names need at least one visible character."),
        (
            "\u{200B}\u{2800}",
            "Names need at least one visible character.",
        ),
        (
            "Ad\u{200B}a",
            "Names cannot contain invisible characters (U+200B at position 3).",
        ),
        (
            "Ada\u{2028}Lovelace",
            "Names cannot contain control characters (U+2028 at position 4).",
        ),
        (
            // NFC folds "a" and the first accent into "á".
            &format!("a{}", "\u{0301}".repeat(31)),
            "Names can have at most 4 accents or marks on one character \
             (one too many at position 6).",
        ),
    ];
    for (name, problem) in cases {
        type_into(&input, name);
        tick().await;
        assert!(button.disabled(), "{name:?}");
        assert_eq!(text(&root, "[data-testid=problem]"), problem, "{name:?}");
        press_enter(&input);
        tick().await;
    }
    assert!(submitted.get_untracked().is_empty());
    // Emoji sequences and Persian joiners are names.
    type_into(
        &input,
        "\u{1F469}\u{200D}\u{1F4BB} \u{0639}\u{0644}\u{06CC}\u{200C}\u{0631}\u{0636}\u{0627}",
    );
    tick().await;
    assert!(
        !button.disabled(),
        "{}",
        text(&root, "[data-testid=problem]")
    );
}

/// `Ada` and Cyrillic `Аda` (the server gives them one look-alike key) each
/// show a different tag from their session ids; `Bob` shows none.
#[wasm_bindgen_test]
async fn lookalike_names_show_different_tags() {
    let root = container();
    let mut view = PresenceView::default();
    let ada = |id: &str, name: &str| OnlineUser {
        id: SessionId(id.to_owned()),
        name: name.to_owned(),
        look: Look(0x9ac3_a55b),
    };
    view.apply(&Presence::Snapshot {
        seq: 0,
        total: 3,
        users: vec![
            ada("0190c0de-0000-7000-8000-00000000a1a1", "Ada"),
            OnlineUser {
                id: SessionId("0190c0de-0000-7000-8000-00000000b0b0".into()),
                name: "Bob".into(),
                look: Look(0x1234_5678),
            },
            ada("0190c0de-0000-7000-8000-00000000c2c2", "\u{0410}da"),
        ],
    });
    let presence = RwSignal::new(view);
    leptos::mount::mount_to(
        root.clone(),
        move || view! { <OnlineList presence=presence/> },
    )
    .forget();
    tick().await;
    let list: HtmlElement = find(&root, "[data-testid=online-list]");
    let items = list.children();
    assert_eq!(items.length(), 3);
    let item = |i: u32| -> HtmlElement { items.item(i).unwrap().unchecked_into() };
    let tag = |i: u32| item(i).query_selector("[data-testid=look-tag]").unwrap();
    let first = tag(0).expect("Ada has a tag");
    let third = tag(2).expect("Аda has a tag");
    assert!(tag(1).is_none(), "Bob looks like nobody else");
    assert_eq!(first.text_content().unwrap(), "·a1a1");
    assert_eq!(third.text_content().unwrap(), "·c2c2");
    assert_ne!(first.text_content(), third.text_content());
    assert_eq!(
        first.get_attribute("aria-label").as_deref(),
        Some("session ending a1a1")
    );
    assert!(first.get_attribute("title").unwrap().contains("looks like"));
    assert_eq!(item(0).text_content().unwrap(), "Ada·a1a1");
    assert_eq!(item(1).text_content().unwrap(), "Bob");
    // Аda renames to something unique: both tags go.
    presence.update(|p| {
        p.apply(&Presence::Delta {
            seq: 1,
            total: 3,
            changes: vec![shared::events::PresenceChange::Renamed {
                id: SessionId("0190c0de-0000-7000-8000-00000000c2c2".into()),
                name: "Cleo".into(),
                look: Look(0x0bad_cafe),
            }],
            prev: None,
        });
    });
    tick().await;
    assert!(root
        .query_selector("[data-testid=look-tag]")
        .unwrap()
        .is_none());
    assert_eq!(
        text(&root, "[data-testid=online-list] li:first-child"),
        "Ada"
    );
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

/// A 👋 button by every name but one's own; a click hands the callback
/// whom to wave at; the list's text stays the names (the hand is CSS).
#[wasm_bindgen_test]
async fn wave_buttons_by_every_other_name() {
    let root = container();
    let mut view = PresenceView::default();
    view.apply(&Presence::Snapshot {
        seq: 0,
        total: 3,
        users: vec![user(0, "Ada"), user(1, "Grace"), user(2, "Bob")],
    });
    let presence = RwSignal::new(view);
    let me = RwSignal::new(Some(user(0, "Ada").id));
    let waved_at = RwSignal::new(None::<(SessionId, String)>);
    let on_wave = Callback::new(move |target| waved_at.set(Some(target)));
    leptos::mount::mount_to(root.clone(), move || {
        view! { <OnlineList presence=presence me=me on_wave=on_wave/> }
    })
    .forget();
    tick().await;
    let buttons = root.get_elements_by_tag_name("button");
    assert_eq!(buttons.length(), 2, "none by one's own name");
    assert!(root
        .query_selector("button[aria-label=\"Wave at Ada\"]")
        .unwrap()
        .is_none());
    let grace: HtmlButtonElement = find(&root, "button[aria-label=\"Wave at Grace\"]");
    grace.click();
    tick().await;
    assert_eq!(
        waved_at.get_untracked(),
        Some((user(1, "Grace").id, "Grace".to_owned()))
    );
    let list: HtmlElement = find(&root, "[data-testid=online-list]");
    assert_eq!(list.text_content().unwrap(), "AdaGraceBob");
}
