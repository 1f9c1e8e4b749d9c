//! Who is online: the count, and the names in the server's presence window
//! (at most [`PRESENCE_WINDOW`]), so a crowd of 20,000 does not freeze the page.
//!
//! Names that may look alike (the server's look-alike key, e.g. `Ada`,
//! Cyrillic `Аda`, a second `Ada`) are each followed by a short tag from
//! their session id, so people can tell them apart.

use app_client::presence::ShownUser;
use app_client::PresenceView;
use leptos::prelude::*;
use shared::events::PRESENCE_WINDOW;

/// What a look-alike tag's tooltip says.
const TAG_TITLE: &str =
    "Another name here looks like this one: these are the last characters of this person's session id.";

#[component]
pub fn OnlineList(#[prop(into)] presence: Signal<PresenceView>) -> impl IntoView {
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
                    <li>{user_view(user)}</li>
                </For>
            </ul>
            <Show when=move || { more() > 0 }>
                <p class="more" data-testid="online-more">{move || format!("and {} more", more())}</p>
            </Show>
        </section>
    }
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
