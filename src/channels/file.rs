//! The HTML file channel: the same HTML as the email body, written to a path atomically (a
//! temporary file in the same folder, flushed, then renamed over the target), so a reader
//! never sees half a report.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::error::{ChannelError, ConfigError};
use super::html::{render, Style, StyleSpec};
use super::{Channel, Delivery};

const CHANNEL: &str = "html file";

/// Configures an [`HtmlFileChannel`]; [`HtmlFileBuilder::build`] checks every field.
#[derive(Clone, Debug)]
pub struct HtmlFileBuilder {
    path: PathBuf,
    style: StyleSpec,
}

impl HtmlFileBuilder {
    /// The palette: `neutral` (default), `catppuccin`, `neobones` or `slate`.
    pub fn palette(mut self, palette: impl Into<String>) -> HtmlFileBuilder {
        self.style.palette = palette.into();
        self
    }

    /// The language: `en` (default), `es`, `pt`, `fr`, `de` or `it`.
    pub fn language(mut self, language: impl Into<String>) -> HtmlFileBuilder {
        self.style.language = language.into();
        self
    }

    /// Whether failures show their traceback (default true).
    pub fn show_traceback(mut self, show: bool) -> HtmlFileBuilder {
        self.style.show_traceback = show;
        self
    }

    /// Whether failures show their traced variables (default true).
    pub fn show_traced_vars(mut self, show: bool) -> HtmlFileBuilder {
        self.style.show_traced_vars = show;
        self
    }

    /// Checks the path and the style. The folder need not exist yet: it is created when the
    /// report is written.
    pub fn build(self) -> Result<HtmlFileChannel, ConfigError> {
        if self.path.as_os_str().is_empty() {
            return Err(ConfigError::new(CHANNEL, "path", "is empty"));
        }
        if self.path.file_name().is_none() {
            return Err(ConfigError::new(
                CHANNEL,
                "path",
                format!("is {}, which names no file", self.path.display()),
            ));
        }
        if self.path.is_dir() {
            return Err(ConfigError::new(
                CHANNEL,
                "path",
                format!("is {}, which is a folder", self.path.display()),
            ));
        }
        let style = self.style.resolve(CHANNEL)?;
        Ok(HtmlFileChannel {
            path: self.path,
            style,
        })
    }
}

/// Writes the report as a self-contained HTML page.
#[derive(Clone, Debug)]
pub struct HtmlFileChannel {
    path: PathBuf,
    style: Style,
}

impl HtmlFileChannel {
    /// A builder for a file at `path`, in the neutral palette and English.
    pub fn builder(path: impl Into<PathBuf>) -> HtmlFileBuilder {
        HtmlFileBuilder {
            path: path.into(),
            style: StyleSpec::default(),
        }
    }

    /// Where the report is written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The style the page is rendered in.
    pub fn style(&self) -> &Style {
        &self.style
    }
}

impl Channel for HtmlFileChannel {
    fn describe(&self) -> String {
        format!("html file {}", self.path.display())
    }

    fn send(&self, delivery: &Delivery<'_>) -> Result<(), ChannelError> {
        let rendered = render(delivery, &self.style)?;
        write_atomically(&self.path, rendered.html.as_bytes())?;
        log::info!(
            "report of {:?} written to {}",
            delivery.report().process_name(),
            self.path.display()
        );
        Ok(())
    }
}

/// Writes `bytes` to a fresh temporary file beside `path`, then renames it over `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ChannelError> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let fail = |action: &'static str| {
        move |source: std::io::Error| ChannelError::File {
            path: path.to_owned(),
            action,
            source,
        }
    };

    let folder = match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => folder,
        _ => Path::new("."),
    };
    fs::create_dir_all(folder).map_err(fail("creating its folder"))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = folder.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::Relaxed)
    ));

    let written = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(fail("writing the temporary file"))
        .and_then(|()| fs::rename(&temporary, path).map_err(fail("renaming the temporary file")));
    if written.is_err() {
        // Best effort: the temporary file may not exist, and the first error is the one to
        // report.
        let _ = fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_paths_and_styles_are_refused() {
        let error = HtmlFileChannel::builder("").build().expect_err("empty");
        assert_eq!(error.field, "path");
        let error = HtmlFileChannel::builder(std::env::temp_dir())
            .build()
            .expect_err("folder");
        assert_eq!(error.field, "path");
        let error = HtmlFileChannel::builder("r.html")
            .language("xx")
            .build()
            .expect_err("lang");
        assert_eq!(error.field, "language");
    }

    #[test]
    fn writes_replace_the_file_and_leave_no_temporary() {
        let folder = std::env::temp_dir().join(format!("processes-file-{}", std::process::id()));
        let path = folder.join("nested").join("report.html");
        write_atomically(&path, b"first").expect("first write");
        write_atomically(&path, b"second").expect("second write");
        assert_eq!(fs::read_to_string(&path).expect("read"), "second");
        let left: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("report.html")]);
        fs::remove_dir_all(&folder).expect("clean up");
    }

    #[test]
    fn an_unwritable_target_names_the_path() {
        let blocker =
            std::env::temp_dir().join(format!("processes-blocker-{}", std::process::id()));
        fs::write(&blocker, b"a file, not a folder").expect("blocker");
        let error = write_atomically(&blocker.join("report.html"), b"x").expect_err("must fail");
        assert!(error.to_string().contains("creating its folder"), "{error}");
        fs::remove_file(&blocker).expect("clean up");
    }
}
