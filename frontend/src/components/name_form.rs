//! The name form: a labelled input and a "Set name" button. The shared name
//! rules run as the person types; an invalid name shows why and cannot be sent.

use app_client::Me;
use leptos::ev::{KeyboardEvent, SubmitEvent};
use leptos::prelude::*;

use crate::names::validate;

/// `on_submit` receives the normalised name, only ever a valid one.
#[component]
pub fn NameForm(
    me: RwSignal<Me>,
    #[prop(into)] on_submit: Callback<String>,
    /// Text to start with (the remembered name).
    #[prop(optional, into)]
    initial: String,
) -> impl IntoView {
    let text = RwSignal::new(initial);
    let touched = RwSignal::new(false);
    let checked = Memo::new(move |_| text.with(|t| validate(t)));
    let problem = move || match (touched.get(), checked.get()) {
        (true, Err(err)) => Some(err.to_string()),
        _ => None,
    };
    let submit = move || {
        if let Ok(name) = checked.get_untracked() {
            on_submit.run(name);
        }
    };
    let on_form_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        submit();
    };
    // Enter submits; handled here so the same path serves keyboards and tests.
    let on_keydown = move |ev: KeyboardEvent| {
        if ev.key() == "Enter" {
            ev.prevent_default();
            touched.set(true);
            submit();
        }
    };
    view! {
        <form class="name-form" on:submit=on_form_submit novalidate>
            <label for="name">"Your name"</label>
            <div class="row">
                <input
                    id="name"
                    name="name"
                    type="text"
                    autocomplete="nickname"
                    maxlength="64"
                    prop:value=move || text.get()
                    aria-invalid=move || if problem().is_some() { "true" } else { "false" }
                    aria-describedby="name-problem"
                    on:input=move |ev| {
                        text.set(event_target_value(&ev));
                        touched.set(true);
                    }
                    on:keydown=on_keydown
                />
                <button type="submit" disabled=move || checked.with(Result::is_err)>
                    "Set name"
                </button>
            </div>
            <p id="name-problem" class="problem" data-testid="problem">{problem}</p>
            <p class="me" data-testid="me">{move || me.with(me_text)}</p>
        </form>
    }
}

/// What the form says about "me".
fn me_text(me: &Me) -> String {
    match me {
        Me::Anonymous => String::new(),
        Me::Pending { name } => format!("Setting your name to {name}…"),
        Me::Identified { name } => format!("You are {name}"),
        Me::Refused { message, .. } => message.clone(),
    }
}
