//! A desktop for the window's tests, on the window's own session bus: a tray host (a StatusNotifierWatcher) and a notification daemon, and what the app showed through them.
//!
//! The app finds a tray because a host says it is registered; its icon
//! registers with the watcher, and the test reads it the way a panel does:
//! the `org.kde.StatusNotifierItem` properties and the `com.canonical.dbusmenu`
//! menu, whose items it clicks with `Event`. Notifications are recorded
//! as the app sends them (`org.freedesktop.Notifications.Notify`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use zbus::zvariant::{OwnedValue, Value};

/// A notification the app sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Its title.
    pub summary: String,
    /// Its text.
    pub body: String,
}

#[derive(Debug, Default)]
struct Seen {
    /// Registered items: bus name and object path.
    items: Vec<(String, String)>,
    notifications: Vec<Notification>,
}

type Shared = Arc<Mutex<Seen>>;

struct Watcher(Shared);

#[zbus::interface(name = "org.kde.StatusNotifierWatcher")]
impl Watcher {
    async fn register_status_notifier_item(
        &self,
        service: &str,
        #[zbus(header)] header: zbus::message::Header<'_>,
    ) {
        let sender = header.sender().map(ToString::to_string).unwrap_or_default();
        // libayatana-appindicator sends its object path; others a bus name.
        let item = if service.starts_with('/') {
            (sender, service.to_owned())
        } else {
            (service.to_owned(), "/StatusNotifierItem".to_owned())
        };
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .items
            .push(item);
    }

    async fn register_status_notifier_host(&self, _service: &str) {}

    #[zbus(property)]
    async fn registered_status_notifier_items(&self) -> Vec<String> {
        let seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        seen.items
            .iter()
            .map(|(bus, path)| format!("{bus}{path}"))
            .collect()
    }

    #[zbus(property)]
    async fn is_status_notifier_host_registered(&self) -> bool {
        true
    }

    #[zbus(property)]
    async fn protocol_version(&self) -> i32 {
        0
    }
}

struct Notifications(Shared);

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Notifications {
    #[allow(clippy::too_many_arguments)]
    async fn notify(
        &self,
        _app_name: &str,
        _replaces_id: u32,
        _app_icon: &str,
        summary: &str,
        body: &str,
        _actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut seen = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        seen.notifications.push(Notification {
            summary: summary.to_owned(),
            body: body.to_owned(),
        });
        u32::try_from(seen.notifications.len()).unwrap_or(u32::MAX)
    }

    async fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    async fn get_server_information(&self) -> (String, String, String, String) {
        (
            "nodepair-tests".into(),
            "nodepair".into(),
            "1".into(),
            "1.2".into(),
        )
    }

    async fn close_notification(&self, _id: u32) {}
}

/// The tray host and notification daemon, serving on one session bus.
#[derive(Debug)]
pub struct Desktop {
    bus: zbus::Connection,
    seen: Shared,
}

/// One item of the tray's menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MenuItem {
    /// Its dbusmenu id.
    pub id: i32,
    /// Its label.
    pub label: String,
    /// Whether it can be clicked.
    pub enabled: bool,
}

impl Desktop {
    /// Serves on the bus at `address`.
    ///
    /// # Panics
    ///
    /// When the bus cannot be reached or the names are taken.
    pub async fn serve(address: &str) -> Desktop {
        let seen = Shared::default();
        let bus = zbus::connection::Builder::address(address)
            .expect("a bus address")
            .serve_at("/StatusNotifierWatcher", Watcher(Arc::clone(&seen)))
            .expect("the watcher")
            .serve_at(
                "/org/freedesktop/Notifications",
                Notifications(Arc::clone(&seen)),
            )
            .expect("the notification daemon")
            .name("org.kde.StatusNotifierWatcher")
            .expect("a name")
            .name("org.freedesktop.Notifications")
            .expect("a name")
            .build()
            .await
            .expect("the window's session bus");
        Desktop { bus, seen }
    }

    /// The notifications the app sent so far.
    pub fn notifications(&self) -> Vec<Notification> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .notifications
            .clone()
    }

    /// The app's tray item (bus name, object path), once it registered.
    ///
    /// # Panics
    ///
    /// When none registered within `within`.
    pub async fn tray_item(&self, within: Duration) -> (String, String) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let first = self
                .seen
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .items
                .first()
                .cloned();
            if let Some(item) = first {
                return item;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no tray icon registered within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn item_property(&self, name: &str) -> zbus::Result<OwnedValue> {
        let (bus, path) = self.tray_item(Duration::from_secs(30)).await;
        let proxy = zbus::Proxy::new(
            &self.bus,
            bus.as_str(),
            path.as_str(),
            "org.kde.StatusNotifierItem",
        )
        .await?;
        proxy.get_property::<OwnedValue>(name).await
    }

    /// The tray icon's picture as the host would draw it: its icon name
    /// (for an icon from a file, the file) and theme path. It changes when
    /// the dot does.
    ///
    /// # Panics
    ///
    /// When the item does not answer.
    pub async fn tray_icon(&self) -> String {
        let name = self.item_property("IconName").await.expect("IconName");
        let theme = self.item_property("IconThemePath").await.ok();
        let text = |v: &OwnedValue| String::try_from(v.clone()).unwrap_or_default();
        format!(
            "{}{}",
            theme.as_ref().map(text).unwrap_or_default(),
            text(&name)
        )
    }

    async fn menu(&self) -> zbus::Result<zbus::Proxy<'static>> {
        let (bus, _) = self.tray_item(Duration::from_secs(30)).await;
        let path = self.item_property("Menu").await?;
        let path = zbus::zvariant::OwnedObjectPath::try_from(path)?;
        zbus::Proxy::new(&self.bus, bus, path, "com.canonical.dbusmenu").await
    }

    /// The tray's menu, top to bottom (separators left out).
    ///
    /// # Panics
    ///
    /// When the menu does not answer.
    pub async fn tray_menu(&self) -> Vec<MenuItem> {
        let menu = self.menu().await.expect("the tray's menu");
        let (_revision, layout): (u32, Layout) = menu
            .call("GetLayout", &(0i32, -1i32, Vec::<String>::new()))
            .await
            .expect("GetLayout");
        let mut items = Vec::new();
        collect(&layout, &mut items);
        items
    }

    /// Clicks the menu item labelled `label`.
    ///
    /// # Panics
    ///
    /// When there is no such item or the click is refused.
    pub async fn click_tray(&self, label: &str) {
        let item = self
            .tray_menu()
            .await
            .into_iter()
            .find(|i| i.label == label)
            .unwrap_or_else(|| panic!("no {label:?} in the tray's menu"));
        let menu = self.menu().await.expect("the tray's menu");
        let _: () = menu
            .call("Event", &(item.id, "clicked", Value::from(""), 0u32))
            .await
            .expect("the click");
    }
}

/// A dbusmenu layout node: `(ia{sv}av)`, its children variants of the same.
#[derive(Debug, serde::Deserialize, zbus::zvariant::Type, zbus::zvariant::OwnedValue)]
struct Layout {
    id: i32,
    props: HashMap<String, OwnedValue>,
    children: Vec<OwnedValue>,
}

/// The items of a dbusmenu layout, depth first.
fn collect(node: &Layout, out: &mut Vec<MenuItem>) {
    let prop = |key: &str| node.props.get(key).map(|v| Value::from(v.clone()));
    let separator = matches!(prop("type"), Some(Value::Str(t)) if t.as_str() == "separator");
    if let Some(Value::Str(label)) = prop("label")
        && !separator
    {
        out.push(MenuItem {
            id: node.id,
            label: label.as_str().replace('_', ""),
            enabled: !matches!(prop("enabled"), Some(Value::Bool(false))),
        });
    }
    for child in &node.children {
        match Layout::try_from(child.clone()) {
            Ok(child) => collect(&child, out),
            Err(e) => panic!("a menu item that is no layout: {e}"),
        }
    }
}
