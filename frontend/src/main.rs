//! Entry point: mount the app. Everything else lives in the library.

fn main() {
    frontend::mount();
}
