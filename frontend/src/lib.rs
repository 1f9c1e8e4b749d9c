//! The page: components and the browser Socket.IO shell.

use leptos::prelude::*;

/// Mounts the application on `<body>`.
pub fn mount() {
    leptos::mount::mount_to_body(App);
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    view! { <main><h1>"iss"</h1></main> }
}
