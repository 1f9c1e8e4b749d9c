//! Serving the built frontend from `dist/`.
//!
//! `index.html` must never be cached (it names the current hashed assets);
//! trunk's hashed assets never change, so they are cached for a year. Brotli
//! and gzip twins (`app.wasm.br`, `app.wasm.gz`) are served when present. With
//! no build at all, `/` explains how to make one instead of answering 404.
//! Dot-files and dot-folders (`.git/config`, `.env`) are never served: a
//! careless `--dist .` must not publish a repository.

use std::convert::Infallible;
use std::path::Path;

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Router;
use tower::service_fn;
use tower_http::services::ServeDir;

const NO_CACHE: &str = "no-cache";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT: &str = "public, max-age=300";

/// The page shown at `/` when `dist/` has no `index.html`.
const NOT_BUILT: &str = r#"<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Frontend not built</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>The frontend has not been built yet</h1>
<p>The server is running, but it found no <code>index.html</code> in its <code>--dist</code> folder.</p>
<p>Build and serve everything with <code>cargo xtask serve</code>, or build the page with
<code>trunk build --release</code> and restart the server.</p>
</body></html>
"#;

/// A router that serves `dist` with the caching rules above.
pub fn router(dist: &Path) -> Router {
    let index = dist.join("index.html");
    let missing = service_fn(move |request: Request| {
        let index = index.clone();
        async move { Ok::<_, Infallible>(not_found(&index, request.uri().path())) }
    });
    let files = ServeDir::new(dist)
        .append_index_html_on_directories(true)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(missing);
    Router::new()
        .fallback_service(files)
        .layer(axum::middleware::from_fn(cache_headers))
        .layer(axum::middleware::from_fn(refuse_dot_paths))
}

/// 404 for any path with a segment that starts with a dot, spelled out or
/// percent-encoded (`/.env`, `/%2egit/config`), before the file system is asked.
async fn refuse_dot_paths(request: Request, next: Next) -> Response {
    if has_dot_segment(request.uri().path()) {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    }
    next.run(request).await
}

fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        segment.starts_with('.')
            || segment
                .get(..3)
                .is_some_and(|start| start.eq_ignore_ascii_case("%2e"))
    })
}

fn not_found(index: &Path, path: &str) -> Response {
    let is_root = matches!(path, "/" | "/index.html");
    if is_root && !index.exists() {
        let mut response = Html(NOT_BUILT).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(NO_CACHE));
        return response;
    }
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

/// Sets `Cache-Control` by what kind of file was asked for.
async fn cache_headers(request: Request, next: Next) -> Response {
    let policy = cache_policy(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() && !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

fn cache_policy(path: &str) -> &'static str {
    let file = path.rsplit('/').next().unwrap_or_default();
    if file.is_empty() || file.ends_with(".html") {
        NO_CACHE
    } else if is_hashed(file) {
        IMMUTABLE
    } else {
        SHORT
    }
}

/// trunk names assets `name-<16 hex digits>[_bg].ext`.
fn is_hashed(file: &str) -> bool {
    let stem = file.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() >= 16 && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_segments() {
        for path in [
            "/.env",
            "/.git/config",
            "/a/.hidden",
            "/%2eenv",
            "/%2Egit/HEAD",
            "/..",
        ] {
            assert!(has_dot_segment(path), "{path}");
        }
        for path in ["/", "/index.html", "/frontend-1a2b.js", "/a.b/c.d"] {
            assert!(!has_dot_segment(path), "{path}");
        }
    }

    #[test]
    fn cache_policies() {
        assert_eq!(cache_policy("/"), NO_CACHE);
        assert_eq!(cache_policy("/index.html"), NO_CACHE);
        assert_eq!(
            cache_policy("/frontend-1a2b3c4d5e6f7a8b_bg.wasm"),
            IMMUTABLE
        );
        assert_eq!(cache_policy("/frontend-1a2b3c4d5e6f7a8b.js"), IMMUTABLE);
        assert_eq!(cache_policy("/style-0123456789abcdef.css"), IMMUTABLE);
        assert_eq!(cache_policy("/favicon.ico"), SHORT);
        assert_eq!(cache_policy("/my-logo.png"), SHORT);
    }
}
