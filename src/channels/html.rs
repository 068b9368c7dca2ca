//! Renders a delivery as HTML and plain text, with a palette and a language.
//!
//! The templates (`templates/`), palettes (`palettes/*.css`) and string tables (`i18n/*.json`)
//! are files beside this one, compiled into the library with `include_str!`. ramhorns escapes
//! `< > & "` in `{{x}}` but not `'`, so the HTML template quotes every attribute with `"`.
//! The plain-text template uses `{{{x}}}` (no escaping) throughout.

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use ramhorns::{Content, Template};
use serde::Deserialize;

use super::error::{ChannelError, ConfigError};
use super::Delivery;
use crate::report::{Entry, Status};

/// A color scheme for the HTML report.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Palette {
    /// Plain greys with muted status colors.
    #[default]
    Neutral,
    /// The Catppuccin scheme (Mocha flavour).
    Catppuccin,
    /// The Neobones scheme (light).
    Neobones,
    /// Cool blue-greys with saturated badges.
    Slate,
}

impl Palette {
    /// Every palette, in the order of [`Palette::NAMES`].
    pub const ALL: [Palette; 4] = [
        Palette::Neutral,
        Palette::Catppuccin,
        Palette::Neobones,
        Palette::Slate,
    ];

    /// The valid palette names.
    pub const NAMES: [&'static str; 4] = ["neutral", "catppuccin", "neobones", "slate"];

    /// The palette's name.
    pub fn name(self) -> &'static str {
        Palette::NAMES[self as usize]
    }

    fn css(self) -> &'static str {
        match self {
            Palette::Neutral => include_str!("palettes/neutral.css"),
            Palette::Catppuccin => include_str!("palettes/catppuccin.css"),
            Palette::Neobones => include_str!("palettes/neobones.css"),
            Palette::Slate => include_str!("palettes/slate.css"),
        }
    }
}

impl FromStr for Palette {
    type Err = String;

    /// Parses a palette name (case-insensitive); the error lists the valid names.
    fn from_str(name: &str) -> Result<Palette, String> {
        Palette::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| {
                format!(
                    "is {name:?}, which is not a palette; valid palettes: {}",
                    Palette::NAMES.join(", ")
                )
            })
    }
}

impl fmt::Display for Palette {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The language of the report's labels and subject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Language {
    /// English.
    #[default]
    En,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
    /// French.
    Fr,
    /// German.
    De,
    /// Italian.
    It,
}

impl Language {
    /// Every language, in the order of [`Language::NAMES`].
    pub const ALL: [Language; 6] = [
        Language::En,
        Language::Es,
        Language::Pt,
        Language::Fr,
        Language::De,
        Language::It,
    ];

    /// The valid language codes.
    pub const NAMES: [&'static str; 6] = ["en", "es", "pt", "fr", "de", "it"];

    /// The language's code.
    pub fn code(self) -> &'static str {
        Language::NAMES[self as usize]
    }

    fn table(self) -> &'static str {
        match self {
            Language::En => include_str!("i18n/en.json"),
            Language::Es => include_str!("i18n/es.json"),
            Language::Pt => include_str!("i18n/pt.json"),
            Language::Fr => include_str!("i18n/fr.json"),
            Language::De => include_str!("i18n/de.json"),
            Language::It => include_str!("i18n/it.json"),
        }
    }
}

impl FromStr for Language {
    type Err = String;

    /// Parses a language code (case-insensitive); the error lists the valid codes.
    fn from_str(code: &str) -> Result<Language, String> {
        Language::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| {
                format!(
                    "is {code:?}, which is not a supported language; valid languages: {}",
                    Language::NAMES.join(", ")
                )
            })
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// How a report looks: palette, language, and which failure details are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// The color scheme.
    pub palette: Palette,
    /// The language of labels and subject.
    pub language: Language,
    /// Whether failures show their traceback.
    pub show_traceback: bool,
    /// Whether failures show their traced variables.
    pub show_traced_vars: bool,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            palette: Palette::Neutral,
            language: Language::En,
            show_traceback: true,
            show_traced_vars: true,
        }
    }
}

/// The style options of a channel builder, kept as given until the builder validates them.
#[derive(Clone, Debug)]
pub(crate) struct StyleSpec {
    pub(crate) palette: String,
    pub(crate) language: String,
    pub(crate) show_traceback: bool,
    pub(crate) show_traced_vars: bool,
}

impl Default for StyleSpec {
    fn default() -> StyleSpec {
        StyleSpec {
            palette: Palette::Neutral.name().to_owned(),
            language: Language::En.code().to_owned(),
            show_traceback: true,
            show_traced_vars: true,
        }
    }
}

impl StyleSpec {
    pub(crate) fn resolve(&self, channel: &'static str) -> Result<Style, ConfigError> {
        let palette = self
            .palette
            .parse()
            .map_err(|reason| ConfigError::new(channel, "palette", reason))?;
        let language = self
            .language
            .parse()
            .map_err(|reason| ConfigError::new(channel, "language", reason))?;
        Ok(Style {
            palette,
            language,
            show_traceback: self.show_traceback,
            show_traced_vars: self.show_traced_vars,
        })
    }
}

/// A rendered report.
#[derive(Clone, Debug)]
pub struct Rendered {
    /// The subject line: localized subject, process name, ` | YYYYMMDD`.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML document.
    pub html: String,
}

/// Renders `delivery` in `style`. Fails only if a built-in template, palette or string table
/// is broken, which the library's tests rule out.
pub fn render(delivery: &Delivery<'_>, style: &Style) -> Result<Rendered, ChannelError> {
    let assets = assets()?;
    let strings = &assets.strings[style.language as usize];
    let colors = &assets.palettes[style.palette as usize];

    let report = delivery.report();
    let subject = subject(
        strings,
        report.process_name(),
        delivery.only_errors(),
        report.started_at(),
    );
    let counts = delivery.counts();
    let mut summary = vec![
        SummaryView::new(Status::Success, strings, counts.success),
        SummaryView::new(Status::Errored, strings, counts.errored),
        SummaryView::new(Status::Skipped, strings, counts.skipped),
    ];
    if counts.cancelled > 0 {
        summary.push(SummaryView::new(
            Status::Cancelled,
            strings,
            counts.cancelled,
        ));
    }
    let page = PageView {
        lang: style.language.code(),
        subject: &subject,
        heading: if delivery.only_errors() {
            &strings.heading_errors
        } else {
            &strings.heading
        },
        process_name: report.process_name(),
        started: local_time(report.started_at()),
        total_time: duration_text(report.elapsed()),
        cancelled: report.was_cancelled(),
        only_errors: delivery.only_errors(),
        summary,
        entries: delivery
            .entries()
            .iter()
            .map(|entry| EntryView::new(entry, strings, style))
            .collect(),
        palette: colors,
        t: strings,
    };

    Ok(Rendered {
        html: assets.html.render(&page),
        text: assets.text.render(&page),
        subject,
    })
}

/// The subject line: `<subject>: <process> | YYYYMMDD` (the name part only when set).
fn subject(strings: &Strings, process: &str, only_errors: bool, at: SystemTime) -> String {
    let lead = if only_errors {
        &strings.subject_errors
    } else {
        &strings.subject
    };
    let date = chrono::DateTime::<chrono::Local>::from(at).format("%Y%m%d");
    // A subject is one line: a name with a line break would let it spill into headers.
    let process: String = process.chars().filter(|c| !c.is_control()).collect();
    if process.trim().is_empty() {
        format!("{lead} | {date}")
    } else {
        format!("{lead}: {} | {date}", process.trim())
    }
}

fn local_time(at: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(at)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A duration for people: `0.412 ms`, `37.5 ms`, `2.31 s`, `4 min 3.2 s`.
pub(crate) fn duration_text(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 0.01 {
        format!("{:.3} ms", seconds * 1e3)
    } else if seconds < 1.0 {
        format!("{:.1} ms", seconds * 1e3)
    } else if seconds < 60.0 {
        format!("{seconds:.2} s")
    } else {
        let minutes = (seconds / 60.0).floor();
        format!("{minutes:.0} min {:.1} s", seconds - minutes * 60.0)
    }
}

/// The longest result text shown; longer results are cut with an ellipsis.
const RESULT_CHARS: usize = 2_000;

fn cut(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text,
    }
}

/// One language's strings, from `i18n/<code>.json`.
#[derive(Deserialize, Content)]
#[serde(deny_unknown_fields)]
pub(crate) struct Strings {
    subject: String,
    subject_errors: String,
    heading: String,
    heading_errors: String,
    process: String,
    started: String,
    total_time: String,
    cancelled_run: String,
    only_errors_note: String,
    status_success: String,
    status_errored: String,
    status_skipped: String,
    status_cancelled: String,
    function: String,
    time: String,
    attempts: String,
    result: String,
    kind: String,
    message: String,
    downstream: String,
    traceback: String,
    traced_vars: String,
    location: String,
    variable: String,
    value: String,
    skipped_because: String,
    footer: String,
}

impl Strings {
    fn status(&self, status: Status) -> &str {
        match status {
            Status::Success => &self.status_success,
            Status::Errored => &self.status_errored,
            Status::Skipped => &self.status_skipped,
            Status::Cancelled => &self.status_cancelled,
        }
    }
}

/// One palette's colors, from the custom properties of `palettes/<name>.css`.
#[derive(Content, Default)]
pub(crate) struct Colors {
    bg: String,
    surface: String,
    border: String,
    text: String,
    muted: String,
    accent: String,
    code_bg: String,
    code_fg: String,
    success_bg: String,
    success_fg: String,
    errored_bg: String,
    errored_fg: String,
    skipped_bg: String,
    skipped_fg: String,
    cancelled_bg: String,
    cancelled_fg: String,
}

impl Colors {
    /// Reads `--name: #hex;` lines. Every color must be set, and be a hex color, so that
    /// nothing but a color can reach the style sheet.
    fn parse(palette: Palette) -> Result<Colors, String> {
        let mut colors = Colors::default();
        for line in palette.css().lines() {
            let Some(declaration) = line.trim().strip_prefix("--") else {
                continue;
            };
            let (name, value) = declaration
                .split_once(':')
                .ok_or_else(|| format!("palette {palette}: line {line:?} has no `:`"))?;
            let value = value.trim().trim_end_matches(';').trim();
            let valid = value.len() == 7
                && value.starts_with('#')
                && value[1..].chars().all(|c| c.is_ascii_hexdigit());
            if !valid {
                return Err(format!(
                    "palette {palette}: --{name} is {value:?}, not #rrggbb"
                ));
            }
            let slot = match name.trim() {
                "bg" => &mut colors.bg,
                "surface" => &mut colors.surface,
                "border" => &mut colors.border,
                "text" => &mut colors.text,
                "muted" => &mut colors.muted,
                "accent" => &mut colors.accent,
                "code-bg" => &mut colors.code_bg,
                "code-fg" => &mut colors.code_fg,
                "success-bg" => &mut colors.success_bg,
                "success-fg" => &mut colors.success_fg,
                "errored-bg" => &mut colors.errored_bg,
                "errored-fg" => &mut colors.errored_fg,
                "skipped-bg" => &mut colors.skipped_bg,
                "skipped-fg" => &mut colors.skipped_fg,
                "cancelled-bg" => &mut colors.cancelled_bg,
                "cancelled-fg" => &mut colors.cancelled_fg,
                other => return Err(format!("palette {palette}: unknown color --{other}")),
            };
            *slot = value.to_owned();
        }
        let all = [
            &colors.bg,
            &colors.surface,
            &colors.border,
            &colors.text,
            &colors.muted,
            &colors.accent,
            &colors.code_bg,
            &colors.code_fg,
            &colors.success_bg,
            &colors.success_fg,
            &colors.errored_bg,
            &colors.errored_fg,
            &colors.skipped_bg,
            &colors.skipped_fg,
            &colors.cancelled_bg,
            &colors.cancelled_fg,
        ];
        if all.iter().any(|c| c.is_empty()) {
            return Err(format!("palette {palette}: a color is missing"));
        }
        Ok(colors)
    }
}

/// Templates, palettes and strings, parsed once.
struct Assets {
    html: Template<'static>,
    text: Template<'static>,
    palettes: Vec<Colors>,
    strings: Vec<Strings>,
}

fn assets() -> Result<&'static Assets, ChannelError> {
    static ASSETS: OnceLock<Result<Assets, String>> = OnceLock::new();
    ASSETS
        .get_or_init(load_assets)
        .as_ref()
        .map_err(|detail| ChannelError::Render {
            detail: detail.clone(),
        })
}

fn load_assets() -> Result<Assets, String> {
    let html = Template::new(include_str!("templates/report.html"))
        .map_err(|e| format!("templates/report.html: {e}"))?;
    let text = Template::new(include_str!("templates/report.txt"))
        .map_err(|e| format!("templates/report.txt: {e}"))?;
    let palettes = Palette::ALL
        .into_iter()
        .map(Colors::parse)
        .collect::<Result<_, _>>()?;
    let strings = Language::ALL
        .into_iter()
        .map(|language| {
            serde_json::from_str(language.table())
                .map_err(|e| format!("i18n/{}.json: {e}", language.code()))
        })
        .collect::<Result<_, _>>()?;
    Ok(Assets {
        html,
        text,
        palettes,
        strings,
    })
}

#[derive(Content)]
struct PageView<'a> {
    lang: &'a str,
    subject: &'a str,
    heading: &'a str,
    process_name: &'a str,
    started: String,
    total_time: String,
    cancelled: bool,
    only_errors: bool,
    summary: Vec<SummaryView<'a>>,
    entries: Vec<EntryView<'a>>,
    palette: &'a Colors,
    t: &'a Strings,
}

#[derive(Content)]
struct SummaryView<'a> {
    status: &'static str,
    label: &'a str,
    count: usize,
}

impl<'a> SummaryView<'a> {
    fn new(status: Status, strings: &'a Strings, count: usize) -> SummaryView<'a> {
        SummaryView {
            status: status.as_str(),
            label: strings.status(status),
            count,
        }
    }
}

#[derive(Content)]
struct EntryView<'a> {
    name: &'a str,
    function: &'a str,
    status: &'static str,
    badge: &'a str,
    elapsed: String,
    attempts: u32,
    open: bool,
    result: Option<TextView>,
    skipped_because: Option<CauseView<'a>>,
    failure: Option<FailureView<'a>>,
}

impl<'a> EntryView<'a> {
    fn new(entry: &Entry<'a>, strings: &'a Strings, style: &Style) -> EntryView<'a> {
        let failure = entry.error().map(|error| {
            let downstream: Vec<_> = error.downstream().map(|name| NameView { name }).collect();
            let vars: Vec<_> = if style.show_traced_vars {
                error
                    .traced_vars()
                    .iter()
                    .map(|v| VarView {
                        name: &v.name,
                        value: &v.value,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            FailureView {
                kind: error.kind().as_str(),
                message: error.message(),
                has_downstream: !downstream.is_empty(),
                downstream,
                traceback: error
                    .traceback()
                    .filter(|_| style.show_traceback)
                    .map(|text| TextView::new(text.to_owned())),
                has_vars: !vars.is_empty(),
                location: error
                    .location()
                    .filter(|_| !vars.is_empty())
                    .map(|text| TextView::new(text.to_owned())),
                vars,
            }
        });
        EntryView {
            name: entry.name(),
            function: entry.function(),
            status: entry.status().as_str(),
            badge: strings.status(entry.status()),
            elapsed: duration_text(entry.elapsed()),
            attempts: entry.attempts(),
            open: entry.status() == Status::Errored,
            result: entry
                .result()
                .map(|value| TextView::new(cut(value.to_string(), RESULT_CHARS))),
            skipped_because: entry.skipped_because().map(|cause| CauseView { cause }),
            failure,
        }
    }
}

#[derive(Content)]
struct TextView {
    text: String,
    indented: String,
}

impl TextView {
    fn new(text: String) -> TextView {
        let indented = text
            .lines()
            .map(|line| format!("    {line}"))
            .collect::<Vec<_>>()
            .join("\n");
        TextView { text, indented }
    }
}

#[derive(Content)]
struct CauseView<'a> {
    cause: &'a str,
}

#[derive(Content)]
struct NameView<'a> {
    name: &'a str,
}

#[derive(Content)]
struct VarView<'a> {
    name: &'a str,
    value: &'a str,
}

#[derive(Content)]
struct FailureView<'a> {
    kind: &'a str,
    message: &'a str,
    has_downstream: bool,
    downstream: Vec<NameView<'a>>,
    traceback: Option<TextView>,
    has_vars: bool,
    location: Option<TextView>,
    vars: Vec<VarView<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_loads() {
        let assets = load_assets().expect("built-in assets");
        assert_eq!(assets.palettes.len(), Palette::ALL.len());
        assert_eq!(assets.strings.len(), Language::ALL.len());
    }

    #[test]
    fn names_parse_and_unknown_ones_list_the_valid_ones() {
        assert_eq!("Catppuccin".parse::<Palette>(), Ok(Palette::Catppuccin));
        assert_eq!("de".parse::<Language>(), Ok(Language::De));
        let error = "solarized".parse::<Palette>().unwrap_err();
        assert!(
            error.contains("neutral, catppuccin, neobones, slate"),
            "{error}"
        );
        let error = "nl".parse::<Language>().unwrap_err();
        assert!(error.contains("en, es, pt, fr, de, it"), "{error}");
    }

    #[test]
    fn subject_has_lead_name_and_date() {
        let assets = load_assets().expect("built-in assets");
        let strings = &assets.strings[Language::Fr as usize];
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(86_400 * 365);
        let date = chrono::DateTime::<chrono::Local>::from(at)
            .format("%Y%m%d")
            .to_string();
        assert_eq!(
            subject(strings, "nightly\r\nBcc: x", false, at),
            format!("Rapport du processus: nightlyBcc: x | {date}")
        );
        assert_eq!(
            subject(strings, "", true, at),
            format!("Erreurs du processus | {date}")
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration_text(Duration::from_micros(412)), "0.412 ms");
        assert_eq!(duration_text(Duration::from_micros(37_500)), "37.5 ms");
        assert_eq!(duration_text(Duration::from_millis(2_310)), "2.31 s");
        assert_eq!(duration_text(Duration::from_millis(243_200)), "4 min 3.2 s");
    }

    #[test]
    fn long_results_are_cut() {
        assert_eq!(cut("héllo".into(), 3), "hél…");
        assert_eq!(cut("hi".into(), 3), "hi");
    }
}
