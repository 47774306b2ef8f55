//! The X11 backend, on x11rb's pure-Rust connection (no libxcb to install): the focused
//! window (`_NET_ACTIVE_WINDOW`, falling back to the input focus), its metadata
//! (`WM_CLASS`, `_NET_WM_NAME`/`WM_NAME`, `_NET_WM_PID`, geometry), the stack of visible
//! top-level windows (`QueryTree` of the root, bottom to top), the monitors (RandR
//! `GetMonitors`), input idle time (MIT-SCREEN-SAVER) and pixels (`GetImage` of the root,
//! so a grab is what the person sees).
//!
//! A Wayland session (`WAYLAND_DISPLAY` set) is [`ScreenError::Unsupported`], with or
//! without XWayland: XWayland's root shows only X11 clients, and a Wayland compositor does
//! not say which window has focus, so a grab would be black and the metadata wrong. The
//! xdg-desktop-portal ScreenCast path is not built: it carries frames over PipeWire
//! (libpipewire linked into the host) and needs a person to approve a screen in a dialog
//! once before a restore token makes later sessions unattended.

use x11rb::connection::{Connection, RequestConnection};
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::screensaver::ConnectionExt as _;
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ConnectionExt as _, ImageFormat, ImageOrder, MapState, Window as Xid,
};
use x11rb::rust_connection::RustConnection;

use crate::{Image, Rect, ScreenError, Window};

/// Largest side of a grab, pixels (X11's own limit is 32,767).
const MAX_SIDE: u32 = 16_384;

/// Rows fetched per `GetImage` request.
const STRIP_ROWS: u32 = 64;

fn display_err(e: impl std::fmt::Display) -> ScreenError {
    ScreenError::Display(e.to_string())
}

/// Why the session's screen cannot be read: a Wayland session, or no display at all.
pub fn unsupported_reason() -> Option<String> {
    if std::env::var_os("WAYLAND_DISPLAY").is_some_and(|d| !d.is_empty()) {
        return Some("Wayland session (WAYLAND_DISPLAY is set): a Wayland compositor shows an X11 client neither its windows nor which has focus, and the xdg-desktop-portal ScreenCast path (PipeWire, a person approving the screen once) is not built; run an X11 session to read the screen".into());
    }
    if std::env::var_os("DISPLAY").is_some_and(|d| !d.is_empty()) {
        return None;
    }
    Some(
        "no display: DISPLAY is not set; the screen capability reads an X11 session (or Xvfb)"
            .into(),
    )
}

/// A top-level window in the stack: its frame on screen, and the client inside it.
#[derive(Debug, Clone)]
pub struct Stacked {
    /// The frame (the window manager's decoration window, or the client itself).
    pub frame: Rect,
    /// Window ids of the frame and what was searched inside it.
    pub ids: Vec<u32>,
    /// The client's metadata, when it has any.
    pub client: Option<Window>,
}

impl Stacked {
    /// True if `id` is this frame or a window found in it.
    pub fn contains(&self, id: u32) -> bool {
        self.ids.contains(&id)
    }
}

struct Atoms {
    active: Atom,
    net_name: Atom,
    utf8: Atom,
    pid: Atom,
}

/// An open connection to the session's X server.
pub struct Display {
    conn: RustConnection,
    screen: usize,
    atoms: Atoms,
}

impl Display {
    /// Connects to `$DISPLAY`. Errors: [`ScreenError::Unsupported`] when there is none or
    /// it cannot be reached (the reason).
    pub fn open() -> Result<Self, ScreenError> {
        if let Some(why) = unsupported_reason() {
            return Err(ScreenError::Unsupported(why));
        }
        let (conn, screen) = x11rb::connect(None).map_err(|e| {
            ScreenError::Unsupported(format!(
                "cannot reach the X11 display {:?}: {e}",
                std::env::var("DISPLAY").unwrap_or_default()
            ))
        })?;
        let atom = |name: &[u8]| -> Result<Atom, ScreenError> {
            Ok(conn
                .intern_atom(false, name)
                .map_err(display_err)?
                .reply()
                .map_err(display_err)?
                .atom)
        };
        let atoms = Atoms {
            active: atom(b"_NET_ACTIVE_WINDOW")?,
            net_name: atom(b"_NET_WM_NAME")?,
            utf8: atom(b"UTF8_STRING")?,
            pid: atom(b"_NET_WM_PID")?,
        };
        Ok(Self {
            conn,
            screen,
            atoms,
        })
    }

    fn root(&self) -> Xid {
        self.conn.setup().roots[self.screen].root
    }

    /// The whole screen (the root window's size).
    pub fn screen_rect(&self) -> Rect {
        let s = &self.conn.setup().roots[self.screen];
        Rect {
            x: 0,
            y: 0,
            width: u32::from(s.width_in_pixels),
            height: u32::from(s.height_in_pixels),
        }
    }

    /// Property `prop` of `w` of type `ty` (or `AtomEnum::ANY`), if set: its type, format
    /// (8, 16 or 32 bits) and bytes (at most 64 KiB).
    fn property_typed(
        &self,
        w: Xid,
        prop: impl Into<Atom>,
        ty: impl Into<Atom>,
    ) -> Option<(Atom, u8, Vec<u8>)> {
        let r = self
            .conn
            .get_property(false, w, prop, ty, 0, 16_384)
            .ok()?
            .reply()
            .ok()?;
        (r.format != 0).then_some((r.type_, r.format, r.value))
    }

    fn property(&self, w: Xid, prop: impl Into<Atom>, ty: impl Into<Atom>) -> Option<Vec<u8>> {
        self.property_typed(w, prop, ty).map(|(_, _, v)| v)
    }

    fn property32(&self, w: Xid, prop: impl Into<Atom>, ty: impl Into<Atom>) -> Option<u32> {
        let v = self.property(w, prop, ty)?;
        v.get(..4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_ne_bytes)
    }

    /// `WM_NAME` as text, whatever its type: `STRING` is Latin-1 (ICCCM; each byte its
    /// code point), `UTF8_STRING` is UTF-8, and `COMPOUND_TEXT` (what xterm sets for a
    /// title beyond Latin-1) is read with its ISO 2022 escape sequences dropped, so its
    /// ASCII words stay matchable by the exclusion rules.
    fn wm_name(&self, w: Xid) -> Option<String> {
        let (ty, format, value) = self.property_typed(w, AtomEnum::WM_NAME, AtomEnum::ANY)?;
        if format != 8 {
            return None;
        }
        Some(if ty == u32::from(AtomEnum::STRING) {
            value.iter().map(|&b| char::from(b)).collect()
        } else if ty == self.atoms.utf8 {
            String::from_utf8_lossy(&value).into_owned()
        } else {
            let mut out = Vec::with_capacity(value.len());
            let mut bytes = value.iter().copied().peekable();
            while let Some(b) = bytes.next() {
                if b == 0x1b {
                    // ESC, intermediates (0x20–0x2f), one final byte.
                    while bytes.next_if(|b| (0x20..0x30).contains(b)).is_some() {}
                    bytes.next();
                } else {
                    out.push(b);
                }
            }
            String::from_utf8_lossy(&out).into_owned()
        })
    }

    /// Milliseconds since the last keyboard or pointer input (MIT-SCREEN-SAVER's
    /// `QueryInfo`). Errors: [`ScreenError::Unsupported`] when the server lacks the
    /// extension, [`ScreenError::Display`].
    pub fn idle_ms(&self) -> Result<u64, ScreenError> {
        let has = self
            .conn
            .extension_information(x11rb::protocol::screensaver::X11_EXTENSION_NAME)
            .ok()
            .flatten()
            .is_some();
        if !has {
            return Err(ScreenError::Unsupported(
                "the X server has no MIT-SCREEN-SAVER extension: idle time is unknown".into(),
            ));
        }
        let reply = self
            .conn
            .screensaver_query_info(self.root())
            .map_err(display_err)?
            .reply()
            .map_err(display_err)?;
        Ok(u64::from(reply.ms_since_user_input))
    }

    /// The monitors (RandR order), or the whole screen as one when RandR has none.
    pub fn monitors(&self) -> Result<Vec<Rect>, ScreenError> {
        let randr = self
            .conn
            .extension_information(x11rb::protocol::randr::X11_EXTENSION_NAME)
            .ok()
            .flatten()
            .is_some();
        let mut out = Vec::new();
        if randr
            && let Ok(cookie) = self.conn.randr_get_monitors(self.root(), true)
            && let Ok(reply) = cookie.reply()
        {
            out = reply
                .monitors
                .iter()
                .map(|m| Rect {
                    x: i32::from(m.x),
                    y: i32::from(m.y),
                    width: u32::from(m.width),
                    height: u32::from(m.height),
                })
                .collect();
        }
        if out.is_empty() {
            out.push(self.screen_rect());
        }
        Ok(out)
    }

    /// Metadata of client window `w`, if it has a class or a title.
    fn describe(&self, w: Xid) -> Option<Window> {
        let class = self.property(w, AtomEnum::WM_CLASS, AtomEnum::STRING);
        let title = self
            .property(w, self.atoms.net_name, self.atoms.utf8)
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .or_else(|| self.wm_name(w));
        if class.is_none() && title.is_none() {
            return None;
        }
        let mut parts = class
            .as_deref()
            .unwrap_or_default()
            .split(|&b| b == 0)
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let instance = parts.next().unwrap_or_default();
        let class = parts.next().unwrap_or_default();
        let geometry = self.conn.get_geometry(w).ok()?.reply().ok()?;
        let origin = self
            .conn
            .translate_coordinates(w, self.root(), 0, 0)
            .ok()?
            .reply()
            .ok()?;
        let rect = Rect {
            x: i32::from(origin.dst_x),
            y: i32::from(origin.dst_y),
            width: u32::from(geometry.width),
            height: u32::from(geometry.height),
        };
        Some(Window {
            app: if class.is_empty() {
                instance.clone()
            } else {
                class
            },
            instance,
            title: title
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_control())
                .collect(),
            pid: self.property32(w, self.atoms.pid, AtomEnum::CARDINAL),
            monitor: 0,
            rect,
            id: w,
            excluded: None,
        })
    }

    /// The focused window. Errors: [`ScreenError::NoWindow`], [`ScreenError::Display`].
    pub fn active_window(&self) -> Result<Window, ScreenError> {
        let root = self.root();
        let mut w = self
            .property32(root, self.atoms.active, AtomEnum::WINDOW)
            .filter(|&w| w != 0)
            .map_or_else(
                || -> Result<Xid, ScreenError> {
                    Ok(self
                        .conn
                        .get_input_focus()
                        .map_err(display_err)?
                        .reply()
                        .map_err(display_err)?
                        .focus)
                },
                Ok,
            )?;
        // The focus may be a child of the client (or PointerRoot/None): walk up to the
        // first window with a class or title, stopping at the root.
        for _ in 0..8 {
            if w <= 1 || w == root {
                return Err(ScreenError::NoWindow);
            }
            if let Some(mut found) = self.describe(w) {
                let monitors = self.monitors()?;
                let cx = i64::from(found.rect.x) + i64::from(found.rect.width / 2);
                let cy = i64::from(found.rect.y) + i64::from(found.rect.height / 2);
                found.monitor = monitors
                    .iter()
                    .position(|m| m.contains(cx, cy))
                    .unwrap_or(0) as u32;
                return Ok(found);
            }
            w = self
                .conn
                .query_tree(w)
                .map_err(display_err)?
                .reply()
                .map_err(display_err)?
                .parent;
        }
        Err(ScreenError::NoWindow)
    }

    /// The viewable top-level windows, bottom to top, each with the client found in it
    /// (the frame itself, or a window up to two levels inside).
    pub fn stack(&self) -> Result<Vec<Stacked>, ScreenError> {
        let root = self.root();
        let tree = self
            .conn
            .query_tree(root)
            .map_err(display_err)?
            .reply()
            .map_err(display_err)?;
        let mut out = Vec::new();
        for frame in tree.children {
            let Ok(Ok(attrs)) = self.conn.get_window_attributes(frame).map(|c| c.reply()) else {
                continue;
            };
            if attrs.map_state != MapState::VIEWABLE {
                continue;
            }
            let Ok(Ok(g)) = self.conn.get_geometry(frame).map(|c| c.reply()) else {
                continue;
            };
            let border = u32::from(g.border_width) * 2;
            let rect = Rect {
                x: i32::from(g.x),
                y: i32::from(g.y),
                width: u32::from(g.width) + border,
                height: u32::from(g.height) + border,
            };
            let mut ids = vec![frame];
            let mut client = self.describe(frame);
            let mut level = vec![frame];
            for _ in 0..2 {
                if client.is_some() {
                    break;
                }
                let mut next = Vec::new();
                for w in level {
                    if let Ok(Ok(t)) = self.conn.query_tree(w).map(|c| c.reply()) {
                        next.extend(t.children);
                    }
                }
                for &c in &next {
                    ids.push(c);
                    if client.is_none() {
                        client = self.describe(c);
                    }
                }
                level = next;
            }
            out.push(Stacked {
                frame: rect,
                ids,
                client,
            });
        }
        Ok(out)
    }

    /// The pixels of `area` (inside the screen) as RGB. Errors: [`ScreenError::Display`]
    /// for an area too large, a request the server refuses, or a pixel layout other than
    /// 24/32-bit true colour.
    pub fn grab(&self, area: Rect) -> Result<Image, ScreenError> {
        if area.width == 0 || area.height == 0 || area.width > MAX_SIDE || area.height > MAX_SIDE {
            return Err(ScreenError::Display(format!(
                "cannot grab {}×{} pixels",
                area.width, area.height
            )));
        }
        let setup = self.conn.setup();
        let s = &setup.roots[self.screen];
        let visual = s
            .allowed_depths
            .iter()
            .flat_map(|d| d.visuals.iter())
            .find(|v| v.visual_id == s.root_visual);
        let bpp = setup
            .pixmap_formats
            .iter()
            .find(|f| f.depth == s.root_depth)
            .map(|f| f.bits_per_pixel);
        let standard = visual.is_some_and(|v| {
            v.red_mask == 0xff_0000 && v.green_mask == 0xff00 && v.blue_mask == 0xff
        });
        if bpp != Some(32) || !standard || setup.image_byte_order != ImageOrder::LSB_FIRST {
            return Err(ScreenError::Display(format!(
                "pixel layout not supported (depth {}, {:?} bits a pixel): the screen capability reads 24-bit true colour",
                s.root_depth, bpp
            )));
        }
        // In strips of STRIP_ROWS rows: the wire copy of a strip is all that is held
        // beside the RGB image (a whole 1920×1080 reply would be 8 MiB, twice over while
        // x11rb parses it).
        let n = area.width as usize * area.height as usize;
        let mut rgb = Vec::with_capacity(n * 3);
        let mut y = 0;
        while y < area.height {
            let rows = STRIP_ROWS.min(area.height - y);
            let reply = self
                .conn
                .get_image(
                    ImageFormat::Z_PIXMAP,
                    self.root(),
                    area.x as i16,
                    (area.y + y as i32) as i16,
                    area.width as u16,
                    rows as u16,
                    !0,
                )
                .map_err(display_err)?
                .reply()
                .map_err(display_err)?;
            let pixels = area.width as usize * rows as usize;
            if reply.data.len() < pixels * 4 {
                return Err(ScreenError::Display(format!(
                    "GetImage returned {} bytes for {pixels} pixels",
                    reply.data.len()
                )));
            }
            for px in reply.data.chunks_exact(4).take(pixels) {
                rgb.extend_from_slice(&[px[2], px[1], px[0]]);
            }
            y += rows;
        }
        Ok(Image {
            width: area.width,
            height: area.height,
            rgb,
        })
    }
}
