//! The tray (status) icon: its dot and menu follow the managers; Open, Pair a manager, a manager's page, Quit.
//!
//! On Linux the icon is a StatusNotifierItem, shown only where a
//! StatusNotifier host runs (KDE, GNOME with the AppIndicator extension,
//! most panels). Without one there is nowhere to come back from, so the
//! window quits the app when it closes, as it always did ([`available`]).

use crate::gui::AppState;
use crate::tray_look;
use crate::views::{ManagersView, TrayAction};
use tauri::image::Image;
use tauri::menu::{Menu, MenuBuilder, MenuEvent, MenuItemBuilder};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager};
use tauri_specta::Event;

/// The tray icon's id.
pub const ID: &str = "main";
/// The app's icon, which the dot is drawn on.
const ICON: &[u8] = include_bytes!("../icons/32x32.png");

/// Whether a tray icon can be shown here: on Linux, whether a
/// StatusNotifier host is registered on the session bus; elsewhere always.
pub fn available() -> bool {
    #[cfg(target_os = "linux")]
    {
        crate::status_notifier::host_registered()
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// Puts the icon in the tray.
///
/// # Errors
///
/// When the platform refuses the icon or its menu.
pub fn create(app: &AppHandle) -> tauri::Result<TrayIcon> {
    let (icon, menu) = look(app, &ManagersView::starting())?;
    TrayIconBuilder::with_id(ID)
        .icon(icon)
        .menu(&menu)
        .tooltip("NodePair")
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu)
        .build(app)
}

/// What the tray shows for a view: its dot and every line of its menu.
/// The managers view is sent on every change (a latency, a last-seen
/// time); the tray is redrawn only when this differs.
fn shown_for(view: &ManagersView) -> (tray_look::Dot, String, Vec<(String, String)>) {
    (
        tray_look::dot(view),
        tray_look::summary(view),
        view.managers
            .iter()
            .map(|m| (m.key.clone(), tray_look::manager_line(&m.name, m.state)))
            .collect(),
    )
}

/// Shows `view` in the tray: the dot, the summary, one line per manager;
/// nothing is redrawn when none of them changed.
pub fn show(app: &AppHandle, view: &ManagersView) {
    type Shown = (tray_look::Dot, String, Vec<(String, String)>);
    static LAST: std::sync::Mutex<Option<Shown>> = std::sync::Mutex::new(None);
    let Some(tray) = app.tray_by_id(ID) else {
        return;
    };
    let now = shown_for(view);
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if last.as_ref() == Some(&now) {
        return;
    }
    let shown = look(app, view).and_then(|(icon, menu)| {
        tray.set_icon(Some(icon))?;
        tray.set_menu(Some(menu))?;
        tray.set_tooltip(Some(tray_look::summary(view)))
    });
    match shown {
        Ok(()) => *last = Some(now),
        Err(e) => tracing::warn!("cannot update the tray icon: {e}"),
    }
}

/// The icon with its dot, and the menu, for `view`.
fn look(app: &AppHandle, view: &ManagersView) -> tauri::Result<(Image<'static>, Menu<tauri::Wry>)> {
    let dot = tray_look::dot(view);
    let base = Image::from_bytes(ICON)?;
    let size = base.width();
    let icon = Image::new_owned(
        tray_look::with_dot(base.rgba(), size, dot),
        size,
        base.height(),
    );
    let mut menu = MenuBuilder::new(app).item(
        &MenuItemBuilder::with_id(
            format!("summary:{}", dot.as_str()),
            tray_look::summary(view),
        )
        .enabled(false)
        .build(app)?,
    );
    for m in &view.managers {
        menu = menu.item(
            &MenuItemBuilder::with_id(
                format!("manager:{}", m.key),
                tray_look::manager_line(&m.name, m.state),
            )
            .build(app)?,
        );
    }
    let menu = menu
        .separator()
        .item(&MenuItemBuilder::with_id("open", "Open NodePair").build(app)?)
        .item(&MenuItemBuilder::with_id("pair", "Pair a manager…").build(app)?)
        .separator()
        .item(&MenuItemBuilder::with_id("quit", "Quit NodePair").build(app)?)
        .build()?;
    Ok((icon, menu))
}

fn on_menu(app: &AppHandle, event: MenuEvent) {
    let id = event.id().as_ref();
    match id {
        "open" => reveal(app, None),
        "pair" => reveal(app, Some(TrayAction::Pair)),
        "quit" => quit(app),
        _ => {
            if let Some(key) = id.strip_prefix("manager:") {
                reveal(
                    app,
                    Some(TrayAction::OpenManager {
                        key: key.to_owned(),
                    }),
                );
            }
        }
    }
}

/// Shows and focuses the window, then tells it what the menu asked.
pub fn reveal(app: &AppHandle, action: Option<TrayAction>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    if let Some(action) = action
        && let Err(e) = action.emit(app)
    {
        tracing::warn!("cannot tell the window: {e}");
    }
}

/// Says goodbye to the managers (briefly), then quits.
pub fn quit(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        if let crate::gui::Phase::Running(backend) = app.state::<AppState>().phase() {
            let goodbye = async {
                backend.peer.shutdown().await;
                // A node in relay mode keeps its connections a moment so
                // the goodbye gets out.
                backend.peer.waku().shutdown().await;
            };
            let _ = tokio::time::timeout(std::time::Duration::from_secs(4), goodbye).await;
        }
        app.exit(0);
    });
}
