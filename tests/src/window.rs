//! The desktop app's real window, driven through WebDriver: tauri-driver and
//! WebKitWebDriver on a virtual display (Xvfb), inside a private D-Bus session
//! with an unlocked gnome-keyring, all stopped when the window is dropped.

use crate::desktop::Desktop;
use crate::{Sandbox, binary, kill_marked};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Marks every process a window started, so all are stopped at the end.
const MARKER: &str = "NODEPAIR_TEST_WINDOW";

/// tauri-driver (from `cargo install tauri-driver@2.1.0 --locked`).
fn tauri_driver() -> PathBuf {
    let in_cargo = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".cargo/bin/tauri-driver"))
        .filter(|p| p.is_file());
    in_cargo.unwrap_or_else(|| PathBuf::from("tauri-driver"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

/// The system theme the app starts under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    /// Adwaita, light.
    Light,
    /// Adwaita, dark: WebKitGTK then reports `prefers-color-scheme: dark`.
    Dark,
}

impl Theme {
    fn gtk(self) -> &'static str {
        match self {
            Theme::Light => "Adwaita",
            Theme::Dark => "Adwaita:dark",
        }
    }

    /// The colour of a tray bar under this theme.
    fn tray_bar(self) -> &'static str {
        match self {
            Theme::Light => "#e6e6e6",
            Theme::Dark => "#2a2a2a",
        }
    }

    /// The colour of the desktop behind the windows under this theme.
    fn desktop(self) -> &'static str {
        match self {
            Theme::Light => "#c5ccd6",
            Theme::Dark => "#16191e",
        }
    }

    /// `light` or `dark`, for file names.
    pub fn name(self) -> &'static str {
        match self {
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

/// The virtual display's size, in pixels.
const SCREEN: (u32, u32) = (1280, 800);

/// How tall the tray bar of [`Window::open_with_tray_bar`] is, in pixels.
const TRAY_BAR: u32 = 32;

/// What surrounds the app in its private session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Session {
    /// A display and a keyring, nothing else.
    Plain,
    /// No DNS (a mount namespace whose resolv.conf names 127.0.0.1).
    WithoutDns,
    /// A tray host and a notification daemon on the bus ([`Desktop`]).
    FakeDesktop,
    /// A tray that draws (`gtk-sni-tray-standalone`).
    TrayBar,
}

/// A running `nodepair` window under WebDriver.
pub struct Window {
    driver: Child,
    marker: String,
    log: PathBuf,
    display: String,
    bus: String,
    /// The WebDriver session.
    pub client: Client,
}

impl std::fmt::Debug for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Window")
            .field("marker", &self.marker)
            .finish_non_exhaustive()
    }
}

impl Window {
    /// Starts the display, the keyring and tauri-driver, and opens the app
    /// with `nodepair --config <config>`.
    ///
    /// # Panics
    ///
    /// When any of them is missing or does not start within 30 s; the
    /// message says what to install.
    pub async fn open(sandbox: &Sandbox, config: &Path) -> Window {
        Self::open_with(sandbox, config, Theme::Light).await
    }

    /// [`Window::open`], with the system theme `theme`.
    ///
    /// # Panics
    ///
    /// As [`Window::open`].
    pub async fn open_with(sandbox: &Sandbox, config: &Path, theme: Theme) -> Window {
        Self::open_inner(sandbox, config, theme, Session::Plain)
            .await
            .0
    }

    /// [`Window::open_with`] on a machine with no DNS: the display, the
    /// driver and the app run in a mount namespace where
    /// `/etc/resolv.conf` names 127.0.0.1, where nothing answers. A node
    /// that finds its peers through DNS (The Waku Network's lists) then
    /// finds none and dials nothing beyond this machine. Needs root
    /// (`unshare --mount`); `None` without it.
    pub async fn open_without_dns(
        sandbox: &Sandbox,
        config: &Path,
        theme: Theme,
    ) -> Option<Window> {
        if !std::fs::metadata("/proc/self")
            .is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        {
            return None;
        }
        Some(
            Self::open_inner(sandbox, config, theme, Session::WithoutDns)
                .await
                .0,
        )
    }

    /// [`Window::open`] on a desktop with a tray host and a notification
    /// daemon ([`Desktop`]), serving on the window's session bus before the
    /// app starts.
    ///
    /// # Panics
    ///
    /// As [`Window::open`].
    pub async fn open_with_desktop(sandbox: &Sandbox, config: &Path) -> (Window, Desktop) {
        let (window, desktop) =
            Self::open_inner(sandbox, config, Theme::Light, Session::FakeDesktop).await;
        (window, desktop.expect("the desktop was asked for"))
    }

    /// [`Window::open_with`] on a desktop with a real tray that draws: a
    /// bar along the bottom of the screen (`gtk-sni-tray-standalone`, with
    /// its own StatusNotifierWatcher) in the theme's colours, running before
    /// the app starts. For screenshots of the tray and its menu
    /// ([`Window::tray_screenshot`]).
    ///
    /// # Panics
    ///
    /// As [`Window::open`], and when the tray does not start (scripts/install.sh
    /// installs it).
    pub async fn open_with_tray_bar(sandbox: &Sandbox, config: &Path, theme: Theme) -> Window {
        Self::open_inner(sandbox, config, theme, Session::TrayBar)
            .await
            .0
    }

    async fn open_inner(
        sandbox: &Sandbox,
        config: &Path,
        theme: Theme,
        session: Session,
    ) -> (Window, Option<Desktop>) {
        let app = binary("nodepair");
        let (port, native) = (free_port(), free_port());
        let marker = format!("{}-{port}", sandbox.path().display());
        let log = sandbox.path().join(format!("window-{port}.log"));
        let webkit = ["/usr/bin/WebKitWebDriver", "/usr/local/bin/WebKitWebDriver"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap_or("WebKitWebDriver");
        // Xvfb picks a free display and writes its number to a file, so
        // screenshots can be taken of it.
        let display_file = sandbox.path().join(format!("display-{port}"));
        let bus_file = sandbox.path().join(format!("bus-{port}"));
        // A tray bar starts before the driver (and so before the app), and
        // the driver only once the bar's watcher says a host is there.
        let tray = if session == Session::TrayBar {
            format!(
                "display -size {w}x{h} -window root 'xc:{desk}' >/dev/null 2>&1; \
                 gtk-sni-tray-standalone --bottom --end --watcher --size {TRAY_BAR} --color '{color}' \
                   >'{log}.tray' 2>&1 & \
                 for _ in $(seq 200); do \
                   dbus-send --session --print-reply --dest=org.kde.StatusNotifierWatcher \
                     /StatusNotifierWatcher org.freedesktop.DBus.Properties.Get \
                     string:org.kde.StatusNotifierWatcher string:IsStatusNotifierHostRegistered \
                     2>/dev/null | grep -q 'boolean true' && break; sleep 0.1; \
                 done; ",
                color = theme.tray_bar(),
                desk = theme.desktop(),
                w = SCREEN.0,
                h = SCREEN.1,
                log = log.display(),
            )
        } else {
            String::new()
        };
        let script = format!(
            "echo \"$DBUS_SESSION_BUS_ADDRESS\" > '{bus}.new' && mv '{bus}.new' '{bus}'; \
             echo -n pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1 || exit 97; \
             Xvfb -displayfd 5 -screen 0 {w}x{h}x24 -nolisten tcp 5>'{file}' & \
             for _ in $(seq 200); do [ -s '{file}' ] && break; sleep 0.05; done; \
             export DISPLAY=:$(cat '{file}'); \
             {tray}exec '{}' --port {port} --native-port {native} --native-driver '{webkit}'",
            tauri_driver().display(),
            file = display_file.display(),
            bus = bus_file.display(),
            w = SCREEN.0,
            h = SCREEN.1,
        );
        let mut driver = if session == Session::WithoutDns {
            let resolv = sandbox.path().join(format!("resolv-{port}.conf"));
            std::fs::write(&resolv, "nameserver 127.0.0.1\n").expect("a resolv.conf");
            let mut cmd = sandbox.command(Path::new("unshare"));
            cmd.args([
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                "mount --bind \"$1\" /etc/resolv.conf && exec dbus-run-session -- sh -c \"$2\"",
                "sh",
            ])
            .arg(&resolv)
            .arg(&script);
            cmd
        } else {
            let mut cmd = sandbox.command(Path::new("dbus-run-session"));
            cmd.args(["--", "sh", "-c", &script]);
            cmd
        };
        let driver = driver
            .env(MARKER, &marker)
            .env("NO_AT_BRIDGE", "1")
            .env("GTK_THEME", theme.gtk())
            .env(
                "RUST_LOG",
                std::env::var("NODEPAIR_WINDOW_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("a log file"))
            .stderr(std::fs::File::create(log.with_extension("err")).expect("a log file"))
            .spawn()
            .expect(
                "dbus-run-session starts (scripts/install.sh installs dbus, xvfb and tauri-driver)",
            );
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({
                "application": app,
                "args": ["--config", config],
            }),
        );
        // The desktop's services are on the bus before the app looks.
        let desktop = if session == Session::FakeDesktop {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
            let address = loop {
                if let Ok(a) = std::fs::read_to_string(&bus_file)
                    && !a.trim().is_empty()
                {
                    break a.trim().to_owned();
                }
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the window's session bus did not start"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            };
            Some(Desktop::serve(&address).await)
        } else {
            None
        };
        let url = format!("http://127.0.0.1:{port}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => break client,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => {
                    kill_marked(MARKER, &marker);
                    panic!(
                        "no WebDriver session within 30 s ({e}); is tauri-driver installed \
                         (cargo install tauri-driver@2.1.0 --locked) and webkit2gtk-driver? Log: {}",
                        std::fs::read_to_string(log.with_extension("err")).unwrap_or_default()
                    );
                }
            }
        };
        let display = std::fs::read_to_string(&display_file)
            .map(|d| format!(":{}", d.trim()))
            .unwrap_or_default();
        let bus = std::fs::read_to_string(&bus_file)
            .map(|b| b.trim().to_owned())
            .unwrap_or_default();
        (
            Window {
                driver,
                marker,
                log,
                display,
                bus,
                client,
            },
            desktop,
        )
    }

    /// The X display the window is on (`:N`).
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The window's session bus.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    /// Asks the window to close, as its close button does (Tauri's
    /// close request: the app decides whether it hides or quits).
    ///
    /// # Panics
    ///
    /// When the page cannot run the script.
    pub async fn request_close(&self) {
        self.client
            .execute(
                "window.__TAURI_INTERNALS__.invoke('plugin:window|close', {label: 'main'})",
                vec![],
            )
            .await
            .expect("the page runs scripts");
    }

    /// Whether the app's window is on screen (mapped), as the X server
    /// says (`xwininfo`).
    ///
    /// # Panics
    ///
    /// When `xwininfo` cannot run.
    pub fn shown(&self) -> bool {
        let out = std::process::Command::new("xwininfo")
            .args(["-display", &self.display, "-name", "NodePair"])
            .output()
            .expect("xwininfo (x11-utils) runs");
        String::from_utf8_lossy(&out.stdout).contains("Map State: IsViewable")
    }

    /// Saves what the window shows as a PNG (ImageMagick's `import` of the
    /// virtual display, cut to the window: WebDriver's own screenshot call
    /// hangs on WebKitGTK).
    ///
    /// # Panics
    ///
    /// When the picture cannot be taken.
    pub async fn screenshot(&self, path: &Path) {
        let rect = self
            .client
            .get_window_rect()
            .await
            .expect("the window's size");
        let crop = format!("{}x{}+{}+{}", rect.2, rect.3, rect.0, rect.1);
        let status = std::process::Command::new("import")
            .args(["-display", &self.display, "-window", "root", "-crop", &crop])
            .arg(path)
            .status()
            .expect("ImageMagick's import runs");
        assert!(status.success(), "import failed for {}", path.display());
    }

    /// Opens the tray icon's menu (a right click on the icon, at the end of
    /// the bar of [`Window::open_with_tray_bar`]), saves the corner of the
    /// screen with the bar and the menu as a PNG, and closes the menu.
    ///
    /// # Panics
    ///
    /// When the menu does not appear after three clicks or the picture
    /// cannot be taken.
    pub async fn tray_screenshot(&self, path: &Path) {
        let (width, height) = SCREEN;
        let (x, y) = (width - TRAY_BAR / 2, height - TRAY_BAR / 2);
        // A click can be lost (the bar busy redrawing the icon): clicked
        // again after a while, three times in all.
        let mut menu = None;
        for _ in 0..3 {
            self.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "3"]);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(4);
            while menu.is_none() && tokio::time::Instant::now() < deadline {
                menu = self.tray_menu_rect();
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            if menu.is_some() {
                break;
            }
        }
        let menu = menu.expect("the tray menu did not open");
        // Let the menu draw, then take it with a margin of desktop.
        tokio::time::sleep(Duration::from_millis(600)).await;
        let left = menu.0.min(width - TRAY_BAR).saturating_sub(72);
        let top = menu.1.saturating_sub(72);
        let crop = format!("{}x{}+{left}+{top}", width - left, height - top);
        let status = std::process::Command::new("import")
            .args(["-display", &self.display, "-window", "root", "-crop", &crop])
            .arg(path)
            .status()
            .expect("ImageMagick's import runs");
        assert!(status.success(), "import failed for {}", path.display());
        self.xdotool(&["key", "Escape"]);
    }

    /// Where the tray's open menu is (x, y, width, height): a window of the
    /// tray's that is not its bar.
    fn tray_menu_rect(&self) -> Option<(u32, u32, u32, u32)> {
        let ids = self.xdotool(&[
            "search",
            "--onlyvisible",
            "--class",
            "gtk-sni-tray-standalone",
        ]);
        ids.lines().find_map(|id| {
            let shell = self.xdotool(&["getwindowgeometry", "--shell", id.trim()]);
            let field = |name: &str| {
                shell
                    .lines()
                    .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
                    .and_then(|v| v.trim().parse::<u32>().ok())
            };
            let rect = (field("X")?, field("Y")?, field("WIDTH")?, field("HEIGHT")?);
            (rect.2 > 40 && rect.3 > 40 && rect.1 + rect.3 <= SCREEN.1 - TRAY_BAR).then_some(rect)
        })
    }

    /// Moves the pointer to the screen's top left corner, where it hovers
    /// over nothing: a tooltip left by what was under it goes.
    ///
    /// # Panics
    ///
    /// When xdotool cannot run.
    pub fn park_pointer(&self) {
        self.xdotool(&["mousemove", "0", "0"]);
    }

    fn xdotool(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("xdotool")
            .args(args)
            .env("DISPLAY", &self.display)
            .output()
            .expect("xdotool runs (scripts/install.sh installs it)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Scrolls until the element `css` selects is at the top of the window.
    ///
    /// # Panics
    ///
    /// When the script cannot run.
    pub async fn scroll_to(&self, css: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0])?.scrollIntoView({block: 'start'})",
                vec![serde_json::json!(css)],
            )
            .await
            .expect("the page runs scripts");
    }

    /// Resizes the window (there is no window manager: the size is exact).
    ///
    /// # Panics
    ///
    /// When WebDriver refuses.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_rect(0, 0, width, height)
            .await
            .expect("the window can be resized");
    }

    /// The element `css` selects, waiting up to `within` for it.
    ///
    /// # Panics
    ///
    /// When it does not appear in time; the message includes the page's text.
    pub async fn find(&self, css: &str, within: Duration) -> Element {
        // Not found yet, or found while a re-render replaced it (WebKit then
        // answers "stale element"): both are retried until the deadline.
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let e = match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(e) => e,
            };
            if tokio::time::Instant::now() >= deadline {
                let page = match self.client.find(Locator::Css("body")).await {
                    Ok(body) => body.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!("{css} did not appear within {within:?} ({e}); the window shows:\n{page}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Clicks the element `css` selects, once it is there. The UI re-renders
    /// on every event, so an element found may be replaced before the
    /// click lands: then it is found again.
    pub async fn click(&self, css: &str) {
        let mut tries = 0;
        loop {
            match self.find(css, Duration::from_secs(10)).await.click().await {
                Ok(_) => return,
                Err(e) if tries < 20 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot click {css}: {e}"),
            }
        }
    }

    /// The text of the element `css` selects (its `textContent`: WebKit's
    /// rendered text of a button can come back empty).
    /// Found again when the element is replaced under the read, as for
    /// [`Window::click`].
    pub async fn text(&self, css: &str) -> String {
        let mut tries = 0;
        loop {
            match self
                .find(css, Duration::from_secs(10))
                .await
                .prop("textContent")
                .await
            {
                Ok(text) => return text.unwrap_or_default(),
                Err(e) if tries < 20 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot read {css}: {e}"),
            }
        }
    }

    /// Whether something matches `css` right now.
    pub async fn has(&self, css: &str) -> bool {
        self.client.find(Locator::Css(css)).await.is_ok()
    }

    /// The app's process (the backend; the page runs in WebKit's own
    /// processes).
    ///
    /// # Panics
    ///
    /// When it is not running.
    pub fn app_pid(&self) -> u32 {
        crate::marked_pids(MARKER, &self.marker)
            .into_iter()
            .find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim_end() == "nodepair")
            })
            .expect("the app is running")
    }

    /// Clicks `click` from inside the page and measures, with the page's
    /// own clock, how long until `count` elements match `until` (a click
    /// that needs the backend includes its round trip). Measured in the
    /// page so that WebDriver's own round trips are not counted.
    ///
    /// # Panics
    ///
    /// When `click` matches nothing, or `until` is not met within 10 s.
    pub async fn time_click(&self, click: &str, until: &str, count: usize) -> Duration {
        const SCRIPT: &str = r"
            const [click, until, count, done] = arguments;
            const target = document.querySelector(click);
            if (!target) { done(-1); return; }
            const started = performance.now();
            const met = () => document.querySelectorAll(until).length >= count;
            let finished = false;
            const finish = (value) => { if (!finished) { finished = true; observer.disconnect(); done(value); } };
            const observer = new MutationObserver(() => { if (met()) finish(performance.now() - started); });
            observer.observe(document.body, { childList: true, subtree: true, attributes: true });
            setTimeout(() => finish(-2), 10000);
            target.click();
            if (met()) finish(performance.now() - started);
        ";
        let answer = self
            .client
            .execute_async(SCRIPT, vec![click.into(), until.into(), count.into()])
            .await
            .expect("the script runs");
        let ms = answer.as_f64().expect("a number");
        assert!(ms != -1.0, "nothing matches {click}");
        assert!(
            ms >= 0.0,
            "{until} ×{count} not there 10 s after clicking {click}"
        );
        Duration::from_secs_f64(ms / 1000.0)
    }

    /// How many elements match `css` right now.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .map_or(0, |all| all.len())
    }

    /// Where the app's own log (stderr) went.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// Ends the session (the app exits) and stops the display and driver.
    pub async fn close(mut self) {
        // WebKit writes what the page stored (the view to open next, in
        // localStorage) to disk about a second after the change; a person
        // closes a window later than that, and a window killed sooner would
        // forget it (seen: a restart opening on the view before the last).
        tokio::time::sleep(Duration::from_secs(2)).await;
        // Taken first: closing the session may start the app's own exit,
        // and an exiting process no longer shows its marker.
        let mut pids = crate::marked_pids(MARKER, &self.marker);
        let client = self.client.clone();
        let _ = client.close().await;
        pids.extend(crate::marked_pids(MARKER, &self.marker));
        crate::kill_and_wait(pids);
        self.stop();
    }

    fn stop(&mut self) {
        kill_marked(MARKER, &self.marker);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        self.stop();
    }
}
