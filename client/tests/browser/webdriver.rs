//! Just enough of the W3C WebDriver protocol to drive headless Chromium through chromedriver,
//! over the HTTP client the workspace already has.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

/// The key of an element reference in the W3C protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where chromedriver is: `CHROMEDRIVER`, or Debian's `chromium-driver` package.
pub fn find_chromedriver() -> Option<PathBuf> {
    let candidates = [
        std::env::var("CHROMEDRIVER").ok().map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/chromedriver")),
        Some(PathBuf::from("/usr/lib/chromium/chromedriver")),
    ];
    candidates.into_iter().flatten().find(|path| path.exists())
}

/// A chromedriver process and the browsers it started, all stopped when dropped (also when a
/// test fails half-way, before it could close its sessions).
pub struct Driver {
    process: Child,
    base: String,
    http: reqwest::Client,
}

impl Driver {
    pub async fn start(chromedriver: &Path) -> Driver {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let process = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, which the browsers inherit, so that drop can end them all.
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver {
            process,
            base: format!("http://127.0.0.1:{port}"),
            http: reqwest::Client::new(),
        };
        for _ in 0..100 {
            let status = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await;
            if let Ok(response) = status {
                let body: Value = response.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    return driver;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not become ready on port {port}");
    }

    /// A new browser with its own profile, so its own cookies.
    pub async fn session(&self, screenshots: &Path, who: &str) -> Session {
        let chrome = json!({
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1100,900", "--lang=en-US", "--disable-crash-reporter",
                     "--disable-breakpad"]
        });
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": chrome
        } } });
        let response = self
            .http
            .post(format!("{}/session", self.base))
            .json(&capabilities)
            .send()
            .await
            .expect("chromedriver answers");
        let body: Value = response.json().await.unwrap();
        let id = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no browser session: {body}"))
            .to_owned();
        Session {
            http: self.http.clone(),
            url: format!("{}/session/{id}", self.base),
            screenshots: screenshots.to_owned(),
            who: who.to_owned(),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.process.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.process.wait();
    }
}

/// One browser.
pub struct Session {
    http: reqwest::Client,
    url: String,
    screenshots: PathBuf,
    who: String,
}

/// An element of the current page.
#[derive(Clone)]
pub struct Element(String);

impl Session {
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("chromedriver answers");
        let status = response.status();
        let body: Value = response.json().await.expect("chromedriver answers JSON");
        assert!(
            status.is_success(),
            "{} {path}: {status}: {}",
            self.who,
            body["value"]
        );
        body["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn current_url(&self) -> String {
        self.get("/url").await.as_str().unwrap().to_owned()
    }

    /// The elements matching a CSS selector, now.
    pub async fn find_all(&self, css: &str) -> Vec<Element> {
        let found = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": css }),
            )
            .await;
        found
            .as_array()
            .unwrap_or_else(|| panic!("{}: finding {css}: {found}", self.who))
            .iter()
            .map(|element| {
                Element(
                    element[ELEMENT]
                        .as_str()
                        .expect("an element reference")
                        .to_owned(),
                )
            })
            .collect()
    }

    /// Waits up to `seconds` for an element matching `css` whose text contains `text`.
    pub async fn wait_for(&self, css: &str, text: &str, seconds: u64) -> Element {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
        loop {
            for element in self.find_all(css).await {
                if self.text(&element).await.contains(text) {
                    return element;
                }
            }
            if tokio::time::Instant::now() > deadline {
                let page = self.get("/source").await;
                panic!(
                    "{}: no `{css}` containing {text:?} after {seconds}s on {}:\n{}",
                    self.who,
                    self.current_url().await,
                    page.as_str().unwrap_or_default()
                );
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    pub async fn text(&self, element: &Element) -> String {
        // The element can go away between finding it and reading it when the page reloads.
        let response = self
            .http
            .get(format!("{}/element/{}/text", self.url, element.0))
            .send()
            .await
            .expect("chromedriver answers");
        let body: Value = response.json().await.unwrap_or_default();
        body["value"].as_str().unwrap_or_default().to_owned()
    }

    pub async fn property(&self, element: &Element, name: &str) -> Value {
        self.get(&format!("/element/{}/property/{name}", element.0))
            .await
    }

    pub async fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.0), json!({}))
            .await;
    }

    pub async fn type_into(&self, css: &str, text: &str) {
        let element = self.wait_for(css, "", 5).await;
        self.post(&format!("/element/{}/clear", element.0), json!({}))
            .await;
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// Saves a PNG of the window as `<screenshots>/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let data = self.get("/screenshot").await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap())
            .unwrap();
        std::fs::write(self.screenshots.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(self) {
        self.command(reqwest::Method::DELETE, "", None).await;
    }
}
