//! The stylesheet and script, compiled into the binary: the image holds nothing else.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

pub const CSS: &str = include_str!("../static/app.css");
pub const JS: &str = include_str!("../static/app.js");

/// Changes whenever an asset does, so browsers may cache each URL for good.
static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hasher = DefaultHasher::new();
    (CSS, JS).hash(&mut hasher);
    format!("{:016x}", hasher.finish())
});

pub fn css_href() -> String {
    format!("/static/app.css?v={}", *VERSION)
}

pub fn js_href() -> String {
    format!("/static/app.js?v={}", *VERSION)
}
