//! Who is online: the count, and the names in the server's presence window
//! (at most [`PRESENCE_WINDOW`]), so a crowd of 20,000 does not freeze the page.
//!
//! Names that may look alike (the server's look-alike key, e.g. `Ada`,
//! Cyrillic `Аda`, a second `Ada`) are each followed by a short tag from
//! their session id, so people can tell them apart.

use app_client::presence::ShownUser;
use app_client::PresenceView;
use leptos::prelude::*;
use shared::events::{SessionId, PRESENCE_WINDOW};

/// What a look-alike tag's tooltip says.
const TAG_TITLE: &str =
    "Another name here looks like this one: these are the last characters of this person's session id.";

/// `me` is this page's own session (no wave button by it); `on_wave`, when
/// given, puts a 👋 button by every other name.
#[component]
pub fn OnlineList(
    presence: RwSignal<PresenceView>,
    #[prop(optional)] me: Option<RwSignal<Option<SessionId>>>,
    #[prop(optional)] on_wave: Option<Callback<(SessionId, String)>>,
) -> impl IntoView {
    let count = move || presence.with(PresenceView::len);
    let shown = move || presence.with(|p| p.shown(PRESENCE_WINDOW));
    let more = move || presence.with(|p| p.len().saturating_sub(p.named()));
    view! {
        <section class="online" aria-labelledby="online-title">
            <h2 id="online-title">
                <span data-testid="online-count">{count}</span>
                " online"
            </h2>
            <ul data-testid="online-list">
                <For
                    each=shown
                    key=|user| (user.id.clone(), user.name.clone(), user.tag.clone())
                    let(user)
                >
                    <li>{wave_button(&user, me, on_wave)}{user_view(user)}</li>
                </For>
            </ul>
            <Show when=move || { more() > 0 }>
                <p class="more" data-testid="online-more">{move || format!("and {} more", more())}</p>
            </Show>
        </section>
    }
}

/// The 👋 button by someone else's name (none by one's own, or without
/// `on_wave`). The hand is drawn by CSS (`.wave::before`), so the list's
/// text stays the names; the button's name for assistive tech is its label.
fn wave_button(
    user: &ShownUser,
    me: Option<RwSignal<Option<SessionId>>>,
    on_wave: Option<Callback<(SessionId, String)>>,
) -> impl IntoView {
    let on_wave = on_wave?;
    // Read once: rows are rebuilt after a reconnect (presence is cleared
    // then, and the new snapshot follows `connected`), so one's own session
    // cannot change under a row.
    if me.is_some_and(|me| me.with_untracked(|me| me.as_ref() == Some(&user.id))) {
        return None;
    }
    let (id, name) = (user.id.clone(), user.name.clone());
    let label = ["Wave at ", &name].concat();
    Some(view! {
        <button
            type="button"
            class="wave"
            data-testid="wave"
            aria-label=label
            on:click=move |_| on_wave.run((id.clone(), name.clone()))
        ></button>
    })
}

/// A name, and its look-alike tag if it has one.
fn user_view(user: ShownUser) -> impl IntoView {
    let tag = user.tag.map(|tag| {
        let label = format!("session ending {tag}");
        view! {
            <span class="look-tag" data-testid="look-tag" title=TAG_TITLE aria-label=label>
                {format!("·{tag}")}
            </span>
        }
    });
    (user.name, tag)
}
