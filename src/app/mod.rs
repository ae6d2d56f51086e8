//! The reception-desk app: a touch-first eframe/egui UI in Japanese.
//!
//! Where things are:
//! - [`state`]: the desk's state machine (screens, actions), no egui, no threads; one module
//!   per screen, as [`screens`] draws them; the date from the injected [`crate::clock`];
//! - [`claim_flow`]: the claim-path wizard (請求の経路) the claim screen drives;
//! - [`settings`]: the staff settings form and its save;
//! - [`messages`]: what the desk asks its workers ([`messages::Request`], each with its date)
//!   and what they report ([`messages::Event`]); state and backend both depend on it, never
//!   on each other;
//! - [`backend`]: worker threads for card I/O and the network; they report by message and
//!   ask for a repaint, so the UI never blocks and sleeps while nothing happens;
//! - [`RunningBuilder`]: the one way a running desk is put together, production or demo;
//! - [`screens`]: one drawing module per screen, and the patient window ([`patient_view`]);
//! - [`theme`]: font, sizes, colours;
//! - [`demo`]: demo mode's embedded mock service and virtual cards.

pub mod backend;
pub mod claim_flow;
#[cfg(feature = "demo")]
pub mod demo;
pub mod folder;
pub mod messages;
#[cfg(feature = "demo")]
pub mod scenario;
mod screens;
pub mod settings;
pub mod state;
pub mod theme;

use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::Arc;

use egui::{RichText, Ui};
use time::Date;

use self::backend::{Backend, PcscAccess, PcscReaders, ReaderSource, Services};
use self::state::{Action, Desk, PasscodeCheck};
use crate::card::CardAccess;
use crate::clock::{FixedClock, SharedClock, SystemClock};
use crate::config::Config;
use crate::domain::claim::declaration::Facility;
use crate::online::OnlineClient;

/// How the app is started.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    /// Demo mode: embedded mock service and virtual cards.
    pub demo: bool,
    /// Full screen, no window decorations (the reception touch screen).
    pub kiosk: bool,
    /// The configuration file (`--config`).
    pub config: Option<PathBuf>,
    /// Where demo mode keeps its generated test PKI.
    pub demo_dir: Option<PathBuf>,
    /// Test mode: a clock stopped at noon (Japan time) on this date, no animations.
    pub fixed_today: Option<Date>,
    /// Text scale (1.0 = body text 22 pt).
    pub scale: Option<f32>,
    /// Close after the first frame was drawn (the smoke test), printing the time it took.
    pub exit_after_first_frame: bool,
    /// Demo mode: walk through this scenario (see `scenario::NAMES`).
    pub scenario: Option<String>,
    /// Save a PNG of the window once the desk is ready (and the scenario done), then close.
    pub screenshot: Option<PathBuf>,
    /// Open the patient window whatever the configuration says (`--patient-display`; demo
    /// mode, whose configuration is generated, above all).
    pub patient_display: bool,
}

/// Starts the window and runs until it is closed.
pub fn run(options: AppOptions) -> Result<(), String> {
    let started = std::time::Instant::now();
    // A reception PC's screen is often 1366×768 or 1024×768 with a taskbar: the window opens
    // maximized (the window manager gives it the screen less the taskbar), its restored size
    // fits the smallest of them, and once the monitor is known it is never larger than it
    // (see `fit_window`).
    let mut viewport = egui::ViewportBuilder::default()
        .with_title("オンライン資格確認 受付")
        .with_inner_size(WINDOW)
        .with_min_inner_size([800.0, 600.0])
        .with_maximized(options.screenshot.is_none());
    if options.kiosk {
        viewport = viewport.with_fullscreen(true).with_decorations(false);
    }
    let native = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    eframe::run_native(
        "onshi-desk",
        native,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let mut app = DeskApp::start(&ctx, options);
            app.started = Some(started);
            Ok(Box::new(app))
        }),
    )
    .map_err(|e| e.to_string())
}

/// The window's size when not maximized: inside a 1024×768 screen with its taskbar.
const WINDOW: [f32; 2] = [1000.0, 680.0];

/// The window size to ask for once the monitor is known, if any: a window larger than the
/// monitor (a window manager that ignored the maximize, a small screen) is brought inside
/// it; `--screenshot` takes the whole screen, so the pictures are of the screen size they
/// are made on (the README's at 1366×768).
fn fit_window(inner: egui::Vec2, monitor: egui::Vec2, screenshot: bool) -> Option<egui::Vec2> {
    if monitor.x < 1.0 || monitor.y < 1.0 {
        return None;
    }
    let fitted = if screenshot {
        monitor
    } else {
        inner.min(monitor)
    };
    (fitted != inner).then_some(fitted)
}

/// What the app is doing.
enum Phase {
    /// Demo mode prepares its PKI and mock service on a worker (seconds the first time).
    Preparing(Receiver<Result<Running, String>>),
    Running(Box<Running>),
    /// Nothing can work (demo mode could not start); says why.
    Failed(String),
}

/// The running desk: state, workers, and in demo mode the demo environment.
pub struct Running {
    pub desk: Desk,
    pub backend: Backend,
    /// The after-the-fact confirmation (事後確認) running in the background; stops when
    /// dropped.
    _reconfirmer: Option<crate::check::ReconfirmerHandle>,
    /// The receipt computer's `req` folder watched in the background (`[interop] enabled`);
    /// stops when dropped.
    pub interop: Option<crate::interop::watch::WatchHandle>,
    #[cfg(feature = "demo")]
    pub demo: Option<demo::DemoEnv>,
}

/// Puts a running desk together: the one place production and demo differ.
///
/// [`RunningBuilder::new`] is the production desk: PC/SC readers, the configured service,
/// journal, printer and facility passcode. [`RunningBuilder::demo`] starts from the same and
/// swaps in the demo pieces (the demo reader and cards, its journal and printouts, its
/// passcode). Everything else — the online client, the journal and its background
/// re-confirmation, the workers, the desk state — is built by [`RunningBuilder::build`] alone.
pub struct RunningBuilder {
    clock: SharedClock,
    config: Result<Config, String>,
    config_path: PathBuf,
    cards: Arc<dyn CardAccess>,
    /// Reader sources, numbered in this order.
    sources: Vec<Box<dyn ReaderSource>>,
    limit_consent: bool,
    printouts: PathBuf,
    printer: Option<String>,
    folder_opener: PathBuf,
    /// The journal to open (its file, and the facility's shared journal if any).
    journal: crate::config::JournalConfig,
    passcode: Option<Box<dyn PasscodeCheck>>,
    /// Told of every check made at the desk and settled by 事後確認 (the receipt computer).
    sink: Arc<dyn crate::check::ResultSink>,
    #[cfg(feature = "demo")]
    demo: Option<demo::DemoEnv>,
}

impl RunningBuilder {
    /// The production desk for `config` (or why it could not be loaded), saved to
    /// `config_path` from the settings screen.
    pub fn new(
        clock: SharedClock,
        config: Result<Config, String>,
        config_path: PathBuf,
    ) -> RunningBuilder {
        let journal = match &config {
            Ok(c) => c.journal.clone(),
            Err(_) => crate::config::JournalConfig::default(),
        };
        RunningBuilder {
            sink: result_sink(&config),
            printer: config.as_ref().ok().and_then(|c| c.desk.printer.clone()),
            clock,
            config,
            config_path,
            cards: Arc::new(PcscAccess),
            sources: vec![Box::new(PcscReaders::default())],
            limit_consent: false,
            printouts: printouts_dir(),
            folder_opener: folder::default_opener(),
            journal,
            passcode: None,
            #[cfg(feature = "demo")]
            demo: None,
        }
    }

    /// Announces finished checks to `sink` instead of the configured one (tests).
    pub fn with_sink(mut self, sink: Arc<dyn crate::check::ResultSink>) -> RunningBuilder {
        self.sink = sink;
        self
    }

    /// The demo desk on a prepared environment: the demo reader (first) beside any PC/SC
    /// reader, the demo facility and passcode, the demo's own journal and printouts.
    #[cfg(feature = "demo")]
    pub fn demo(clock: SharedClock, env: demo::DemoEnv) -> RunningBuilder {
        let mut config = env.config.clone();
        config.desk.facility_name = Some(demo::DEMO_FACILITY_NAME.to_owned());
        config.desk.passcode =
            crate::config::PasscodeHash::new(demo::DEMO_PASSCODE, b"onshi-demo").ok();
        let path = config.path.clone();
        let mut builder = RunningBuilder::new(clock, Ok(config), path);
        builder.cards = Arc::new(demo::DemoAccess {
            demo: env.reader.clone(),
        });
        builder
            .sources
            .insert(0, Box::new(demo::DemoReaderSource::new(env.reader.clone())));
        builder.limit_consent = true;
        builder.printouts = env.printouts.clone();
        builder.printer = env.printer.clone();
        if let Some(opener) = &env.folder_opener {
            builder.folder_opener = opener.clone();
        }
        builder.journal = crate::config::JournalConfig {
            path: Some(env.journal.clone()),
            ..crate::config::JournalConfig::default()
        };
        builder.passcode = Some(Box::new(|typed: &str| typed == demo::DEMO_PASSCODE));
        builder.demo = Some(env);
        builder
    }

    /// Starts the workers, the journal and its re-confirmation, and makes the desk.
    pub fn build(self, ctx: &egui::Context) -> Running {
        let config = self.config;
        let client = match &config {
            Ok(c) => OnlineClient::new(c)
                .map(Arc::new)
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        if let Err(e) = &client {
            tracing::error!("online qualification is not configured: {e}");
        }
        let (journal, reconfirmer, announcer) =
            open_journal(&self.journal, &client, self.sink.clone());
        #[cfg(feature = "shared-journal")]
        let shared_status = journal.as_ref().ok().and_then(|j| j.shared_status_board());
        let interop = watch_requests(&config, &client, &journal, &self.clock);
        let backend = Backend::new(
            Services {
                cards: self.cards,
                client,
                grace: config
                    .as_ref()
                    .map(|c| c.card.grace_end)
                    .unwrap_or_default(),
                limit_consent: self.limit_consent,
                csv_encoding: config
                    .as_ref()
                    .map(|c| c.journal.csv_encoding)
                    .unwrap_or_default(),
                printouts: self.printouts,
                printer: self.printer,
                folder_opener: self.folder_opener,
                journal,
                announcer,
            },
            repainter(ctx),
        );
        for (id, source) in self.sources.into_iter().enumerate() {
            backend.watch(id, source);
        }
        let passcode = self.passcode.unwrap_or_else(|| {
            let hash = config.as_ref().ok().and_then(|c| c.desk.passcode.clone());
            Box::new(move |typed: &str| hash.as_ref().is_some_and(|p| p.matches(typed)))
        });
        let mut desk = Desk::new(self.clock, passcode);
        if let Ok(c) = &config {
            desk.preferred_reader = c.card.reader.clone();
            desk.result_timeout = c.desk.result_timeout;
            desk.facility = Facility {
                name: c.desk.facility_name.clone().unwrap_or_default(),
                code: c.facility_code.as_str().to_owned(),
            };
        }
        desk.patient_display = config.as_ref().is_ok_and(|c| c.desk.patient_display);
        if let Ok(c) = &config {
            desk.set_passcode_delays(c.desk.passcode_delays_s.clone());
        }
        // The shipped table without a configuration (and in the demo, whose configuration
        // names none).
        desk.set_public_expense_table(match &config {
            Ok(c) => c.public_expense.load_table(),
            Err(_) => Ok(crate::domain::public_expense::table::BenefitTable::builtin()),
        });
        desk.config_path = self.config_path;
        desk.config = config.ok();
        desk.interop = interop.as_ref().map(|w| w.status_board());
        #[cfg(feature = "shared-journal")]
        {
            desk.shared_journal = shared_status;
        }
        Running {
            desk,
            backend,
            _reconfirmer: reconfirmer,
            interop,
            #[cfg(feature = "demo")]
            demo: self.demo,
        }
    }
}

/// The eframe app.
pub struct DeskApp {
    phase: Phase,
    options: AppOptions,
    styled: bool,
    started: Option<std::time::Instant>,
    frames: u64,
    /// Messages for the clerk that are not tied to a screen (demo panel errors, …).
    banner: Option<String>,
    #[cfg(feature = "demo")]
    scenario: Option<std::collections::VecDeque<scenario::Step>>,
    /// Frames drawn since the desk was ready and the scenario done.
    settled_frames: u32,
    /// Set by the screenshot callback once the PNG is written (or failed).
    screenshot_done: Arc<std::sync::atomic::AtomicBool>,
    screenshot_requested: bool,
    /// The window was fitted to its monitor (see [`fit_window`]).
    window_fitted: bool,
    /// The desk's view drawn last (see [`Desk::view`]).
    drawn_view: Option<u64>,
    /// Whether a configured patient window was checked against the backend (once).
    patient_window_checked: bool,
}

/// The patient window (お客様用画面) for the desk as it is: drawn into `ui`, the taps returned
/// as actions for the desk. The app draws it in its second viewport; tests into a harness.
pub fn patient_view(ui: &mut Ui, desk: &Desk) -> Vec<Action> {
    let mut actions = Vec::new();
    screens::patient::show(ui, desk, &mut actions);
    actions
}

/// The second viewport's id.
const PATIENT_VIEWPORT: &str = "onshi-desk-patient";

/// The patient window's native window: where `[desk] patient_display_position` says.
fn patient_viewport(desk: &Desk) -> egui::ViewportBuilder {
    let mut builder = egui::ViewportBuilder::default()
        .with_title("お客様用画面 オンライン資格確認")
        .with_inner_size([1024.0, 768.0])
        .with_min_inner_size([640.0, 600.0]);
    if let Some([x, y]) = desk
        .config
        .as_ref()
        .and_then(|c| c.desk.patient_display_position)
    {
        builder = builder.with_position([x, y]);
    }
    builder
}

impl AppOptions {
    /// The clock the desk reads its dates from: stopped on `fixed_today`, else the system's.
    pub fn clock(&self) -> SharedClock {
        match self.fixed_today {
            Some(date) => Arc::new(FixedClock::on(date)),
            None => SystemClock::shared(),
        }
    }
}

/// Writes an RGBA screenshot as PNG.
fn save_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
    let [w, h] = image.size;
    let rgba: Vec<u8> = image.pixels.iter().flat_map(|p| p.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, rgba)
        .ok_or_else(|| "pixel buffer of the wrong size".to_owned())?;
    if let Some(dir) = path.parent() {
        onshi_files::create_private_dir_all(dir).map_err(|e| e.to_string())?;
    }
    // A screenshot can show a patient's name and numbers: owner-only, and written whole.
    let mut png = Vec::new();
    buffer
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| e.to_string())?;
    onshi_files::write_atomic(path, &png, onshi_files::Access::Private).map_err(|e| e.to_string())
}

/// Where the desk announces finished checks, from the configuration: the receipt computer's
/// `face` folder when `[interop] enabled`, else nowhere.
fn result_sink(config: &Result<Config, String>) -> Arc<dyn crate::check::ResultSink> {
    match config {
        Ok(c) if c.interop.enabled => Arc::new(crate::interop::face::FaceWriter::from_config(c)),
        _ => Arc::new(crate::check::NoSink),
    }
}

/// Opens the journal and starts the background re-confirmation (事後確認) of queued checks
/// with `client`, and the thread that announces checks to `sink` (made at the desk, or settled
/// by re-confirmation; one queue, so a hanging share holds up neither). A journal that cannot
/// be opened is no reason not to start: every check then tells the desk it was not recorded.
fn open_journal(
    config: &crate::config::JournalConfig,
    client: &Result<Arc<OnlineClient>, String>,
    sink: Arc<dyn crate::check::ResultSink>,
) -> (
    Result<crate::journal::Journal, String>,
    Option<crate::check::ReconfirmerHandle>,
    Option<Arc<crate::check::Announcer>>,
) {
    let retention_days = config.retention_days;
    let journal = crate::journal::Journal::open_config(config).map_err(|e| {
        tracing::error!(path = %config.path().display(), error = %e, "journal not opened");
        e.desk_message()
    });
    let announcer = journal.as_ref().ok().map(|journal| {
        let recorder: Arc<dyn crate::check::CheckRecorder> = Arc::new(journal.clone());
        Arc::new(crate::check::Announcer::spawn(sink, recorder))
    });
    let reconfirmer = match (&journal, client, &announcer) {
        (Ok(journal), Ok(client), Some(announcer)) => {
            crate::check::Reconfirmer::new(journal.clone(), client.clone())
                .with_retention_days(retention_days)
                .with_announcer(announcer.clone())
                .spawn(std::time::Duration::from_secs(60))
                .map_err(|e| tracing::error!(error = %e, "re-confirmation not started"))
                .ok()
        }
        _ => None,
    };
    (journal, reconfirmer, announcer)
}

/// Starts answering the receipt computer's request files (`req` → `res`) when `[interop]` is
/// enabled and the service and the journal are there: the same handler as `onshi-desk interop
/// serve`, on the desk's clock. A watcher that cannot start is logged; the desk works without.
fn watch_requests(
    config: &Result<Config, String>,
    client: &Result<Arc<OnlineClient>, String>,
    journal: &Result<crate::journal::Journal, String>,
    clock: &SharedClock,
) -> Option<crate::interop::watch::WatchHandle> {
    let (Ok(config), Ok(client), Ok(journal)) = (config, client, journal) else {
        return None;
    };
    if !config.interop.enabled {
        return None;
    }
    let processor = crate::interop::RequestProcessor::for_config(
        config,
        client.clone(),
        Arc::new(journal.clone()),
        clock.clone(),
    );
    crate::interop::watch::spawn(
        &config.interop.folder,
        Arc::new(processor),
        crate::interop::watch::WatchOptions::from_config(&config.interop),
    )
    .map_err(|e| tracing::error!(error = %e, "request-folder watcher not started"))
    .ok()
}

/// Where printouts are kept: the platform data dir, else the temp dir.
fn printouts_dir() -> PathBuf {
    crate::print::printer::default_printouts_dir()
        .unwrap_or_else(|| std::env::temp_dir().join("onshi-desk-printouts"))
}

/// The repaint hook for workers.
fn repainter(ctx: &egui::Context) -> Arc<dyn Fn() + Send + Sync> {
    let ctx = ctx.clone();
    Arc::new(move || ctx.request_repaint())
}

impl DeskApp {
    /// Starts the desk for `options`; in demo mode the environment is prepared on a worker.
    pub fn start(ctx: &egui::Context, options: AppOptions) -> DeskApp {
        let phase = if options.demo {
            Self::prepare_demo(ctx, &options)
        } else {
            let config_path = options
                .config
                .clone()
                .unwrap_or_else(crate::config::default_path);
            let config = Config::load(options.config.as_deref()).map_err(|e| e.to_string());
            Phase::Running(Box::new(
                RunningBuilder::new(options.clock(), config, config_path).build(ctx),
            ))
        };
        DeskApp::with_phase(phase, options)
    }

    fn with_phase(phase: Phase, options: AppOptions) -> DeskApp {
        #[cfg(feature = "demo")]
        let scenario = options.scenario.as_deref().and_then(scenario::steps);
        DeskApp {
            phase,
            options,
            styled: false,
            started: None,
            frames: 0,
            banner: None,
            #[cfg(feature = "demo")]
            scenario,
            settled_frames: 0,
            screenshot_done: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            screenshot_requested: false,
            window_fitted: false,
            drawn_view: None,
            patient_window_checked: false,
        }
    }

    /// Runs the scenario's steps that can run now; `true` when it is finished.
    #[cfg(feature = "demo")]
    fn run_scenario(&mut self) -> bool {
        let Phase::Running(running) = &mut self.phase else {
            return false;
        };
        let Some(steps) = &mut self.scenario else {
            return true;
        };
        while let Some(step) = steps.front() {
            match step {
                scenario::Step::Place(persona) => {
                    let card = demo::DEMO_CARDS
                        .iter()
                        .find(|c| c.persona == Some(*persona));
                    if let (Some(env), Some(card)) = (&running.demo, card) {
                        if let Err(e) = env.place(card) {
                            self.banner = Some(e.to_string());
                        }
                    }
                }
                scenario::Step::Act(action) => running.desk.act((**action).clone()),
                scenario::Step::Until(done) => {
                    if !done(&running.desk.screen) {
                        return false;
                    }
                }
            }
            steps.pop_front();
        }
        true
    }

    #[cfg(not(feature = "demo"))]
    fn run_scenario(&mut self) -> bool {
        true
    }

    /// `--screenshot`: once settled, asks for the pixels, writes the PNG, then closes.
    fn screenshot(&mut self, ctx: &egui::Context, ready: bool) {
        let Some(path) = self.options.screenshot.clone() else {
            return;
        };
        if self
            .screenshot_done
            .load(std::sync::atomic::Ordering::SeqCst)
        {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
            return;
        }
        if !ready {
            self.settled_frames = 0;
            ctx.request_repaint_after(std::time::Duration::from_millis(50));
            return;
        }
        self.settled_frames += 1;
        // A few frames for layout to settle (sizes are measured on the first pass).
        if self.settled_frames < 4 || self.screenshot_requested {
            ctx.request_repaint();
            return;
        }
        self.screenshot_requested = true;
        let done = self.screenshot_done.clone();
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            if let Err(e) = save_png(&path, &image) {
                eprintln!("onshi-desk: screenshot {}: {e}", path.display());
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
            repaint.request_repaint();
        });
        ctx.request_repaint();
    }

    #[cfg(feature = "demo")]
    fn prepare_demo(ctx: &egui::Context, options: &AppOptions) -> Phase {
        let (tx, rx) = std::sync::mpsc::channel();
        let ctx = ctx.clone();
        let dir = options.demo_dir.clone().unwrap_or_else(demo::default_dir);
        let clock = options.clock();
        let spawned = std::thread::Builder::new()
            .name("onshi-demo-setup".into())
            .spawn(move || {
                let running = demo::DemoEnv::start(&dir, clock.today_jst())
                    .map(|env| Self::demo_running(&ctx, env, clock))
                    .map_err(|e| e.to_string());
                let _ = tx.send(running);
                ctx.request_repaint();
            });
        match spawned {
            Ok(_) => Phase::Preparing(rx),
            Err(e) => Phase::Failed(e.to_string()),
        }
    }

    #[cfg(not(feature = "demo"))]
    fn prepare_demo(_ctx: &egui::Context, _options: &AppOptions) -> Phase {
        Phase::Failed("このビルドにはデモモードが含まれていません (feature \"demo\")".into())
    }

    /// The desk on a prepared demo environment: the demo reader beside any PC/SC reader.
    #[cfg(feature = "demo")]
    pub fn demo_running(ctx: &egui::Context, env: demo::DemoEnv, clock: SharedClock) -> Running {
        RunningBuilder::demo(clock, env).build(ctx)
    }

    /// An app already running `running` (tests build it on their own PKI).
    pub fn from_running(running: Running, options: AppOptions) -> DeskApp {
        DeskApp::with_phase(Phase::Running(Box::new(running)), options)
    }

    /// The running desk, once prepared.
    pub fn running(&self) -> Option<&Running> {
        match &self.phase {
            Phase::Running(r) => Some(r),
            _ => None,
        }
    }

    /// The running desk, mutable (tests act on it directly).
    pub fn running_mut(&mut self) -> Option<&mut Running> {
        match &mut self.phase {
            Phase::Running(r) => Some(r),
            _ => None,
        }
    }

    /// Draws one frame: takes the workers' reports, draws, hands new work to the workers.
    pub fn show(&mut self, ui: &mut Ui) {
        if !self.styled {
            // Fonts take effect from the next pass: draw nothing until then, so no frame is
            // ever drawn without the Japanese glyphs.
            let configured = self
                .running()
                .and_then(|r| r.desk.config.as_ref()?.desk.scale);
            theme::install(ui.ctx(), self.options.scale.or(configured).unwrap_or(1.0));
            if self.options.fixed_today.is_some() {
                ui.ctx().all_styles_mut(|s| {
                    s.animation_time = 0.0;
                    s.scroll_animation = egui::style::ScrollAnimation::none();
                });
            }
            self.styled = true;
            ui.ctx().request_repaint();
            return;
        }
        if !self.window_fitted && !self.options.kiosk {
            let (inner, monitor) = ui.ctx().input(|i| {
                let v = i.viewport();
                (v.inner_rect.map(|r| r.size()), v.monitor_size)
            });
            if let (Some(inner), Some(monitor)) = (inner, monitor) {
                self.window_fitted = true;
                if let Some(size) = fit_window(inner, monitor, self.options.screenshot.is_some()) {
                    tracing::info!(?inner, ?monitor, ?size, "window fitted to the monitor");
                    ui.ctx()
                        .send_viewport_cmd(egui::ViewportCommand::OuterPosition(egui::Pos2::ZERO));
                    ui.ctx()
                        .send_viewport_cmd(egui::ViewportCommand::InnerSize(size));
                    self.settled_frames = 0;
                }
            }
        }
        if let Phase::Preparing(rx) = &self.phase {
            if let Ok(result) = rx.try_recv() {
                self.phase = match result {
                    Ok(running) => Phase::Running(Box::new(running)),
                    Err(e) => Phase::Failed(e),
                };
            }
        }
        let mut actions = Vec::new();
        egui::CentralPanel::default().show(ui, |ui| match &mut self.phase {
            Phase::Preparing(_) => {
                ui.vertical_centered(|ui| {
                    ui.add_space(120.0);
                    ui.add(egui::Spinner::new().size(64.0));
                    ui.label(
                        RichText::new("デモ環境を準備しています(初回は数秒かかります)…").size(28.0),
                    );
                });
            }
            Phase::Failed(why) => {
                ui.vertical_centered(|ui| {
                    ui.add_space(120.0);
                    ui.label(
                        RichText::new("起動できませんでした")
                            .size(34.0)
                            .color(theme::BAD),
                    );
                    ui.label(why.as_str());
                });
            }
            Phase::Running(running) => {
                for event in running.backend.poll() {
                    running.desk.handle(event);
                }
                running.desk.tick();
                #[cfg(feature = "demo")]
                if let Some(env) = &running.demo {
                    demo_panel(ui, env, &mut self.banner);
                }
                header(ui, &running.desk);
                if let Some(b) = &self.banner {
                    ui.label(RichText::new(b).color(theme::BAD));
                }
                screens::show(ui, &running.desk, &mut actions);
                // A new view's panels are sized on its first pass: that pass is drawn again
                // (without input, so nothing is tapped twice) and the buttons never jump
                // under the finger.
                let view = running.desk.view();
                if self.drawn_view != Some(view) {
                    self.drawn_view = Some(view);
                    ui.ctx().request_discard("a new view is laid out");
                }
                shortcuts(ui, &running.desk, &mut actions);
            }
        });
        if let Phase::Running(running) = &mut self.phase {
            if !self.patient_window_checked {
                self.patient_window_checked = true;
                running.desk.patient_display |= self.options.patient_display;
                // Only a native second window can face the patient: a backend that would
                // embed it in the clerk's window keeps the keypad on the one window.
                if running.desk.patient_display && ui.ctx().embed_viewports() {
                    tracing::warn!("patient display configured, but this backend cannot open a second window: using one window");
                    running.desk.patient_display = false;
                }
            }
            if running.desk.patient_display && !ui.ctx().embed_viewports() {
                let desk = &running.desk;
                ui.ctx().show_viewport_immediate(
                    egui::ViewportId::from_hash_of(PATIENT_VIEWPORT),
                    patient_viewport(desk),
                    |ui, _| {
                        // The patient's window stays open as long as the desk runs.
                        if ui.input(|i| i.viewport().close_requested()) {
                            ui.ctx()
                                .send_viewport_cmd(egui::ViewportCommand::CancelClose);
                        }
                        egui::CentralPanel::default()
                            .show(ui, |ui| actions.extend(patient_view(ui, desk)));
                    },
                );
            }
            for action in actions {
                running.desk.act(action);
            }
        }
        let scenario_done = self.run_scenario();
        let mut busy = false;
        if let Phase::Running(running) = &mut self.phase {
            for request in running.desk.take_requests() {
                running.backend.submit(request);
            }
            busy = running.desk.busy();
            if busy {
                // Keeps the spinner turning; workers wake the UI when they are done.
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(100));
            } else {
                // Nothing may happen all night: a look at the clock now and then keeps the
                // header's date right after midnight; an unattended result closes on time.
                let idle = std::time::Duration::from_secs(30);
                let wake = running.desk.wake_in().map_or(idle, |w| w.min(idle));
                ui.ctx()
                    .request_repaint_after(wake.max(std::time::Duration::from_millis(50)));
            }
            if running.desk.passcode_wait().is_some() {
                // The wait after wrong passcodes counts down on screen.
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_secs(1));
            }
        }
        let ready = matches!(self.phase, Phase::Running(_) | Phase::Failed(_)) && scenario_done;
        self.screenshot(ui.ctx(), ready && !busy);
        self.frames += 1;
        if self.frames == 1 {
            if let Some(started) = self.started {
                tracing::info!("first frame after {:?}", started.elapsed());
                if self.options.exit_after_first_frame {
                    println!("first frame after {} ms", started.elapsed().as_millis());
                }
            }
        }
        // With a screenshot to take, closing waits for it (see `screenshot`).
        if self.options.exit_after_first_frame
            && self.options.screenshot.is_none()
            && self.frames >= 2
            && matches!(self.phase, Phase::Running(_) | Phase::Failed(_))
        {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

impl eframe::App for DeskApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        self.show(ui);
    }
}

/// The top line: the date the checks are for, and the reader state.
fn header(ui: &mut Ui, desk: &Desk) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("オンライン資格確認").size(20.0).strong());
        ui.label(
            RichText::new(format!(
                "受付日 {}",
                crate::domain::dates::format_wareki(desk.today())
            ))
            .size(18.0),
        );
    });
    ui.separator();
}

/// Keyboard shortcuts for staff on a normal PC: Esc goes back, F2 opens the numbers form.
fn shortcuts(ui: &mut Ui, desk: &Desk, actions: &mut Vec<Action>) {
    ui.input(|i| {
        if i.key_pressed(egui::Key::Escape) && !matches!(desk.screen, state::Screen::Idle) {
            actions.push(Action::Cancel);
        }
        if i.key_pressed(egui::Key::F2) {
            actions.push(Action::OpenNumbers);
        }
        if i.key_pressed(egui::Key::Enter) {
            match &desk.screen {
                state::Screen::Identity(s) => match s.mode {
                    // With a patient window the PIN is sent from there, never by the clerk.
                    state::IdentityMode::Pin { .. } if !desk.pin_on_patient_window() => {
                        actions.push(Action::SubmitPin)
                    }
                    state::IdentityMode::Passcode { .. } => actions.push(Action::SubmitPasscode),
                    _ => {}
                },
                state::Screen::Numbers(_) => actions.push(Action::SubmitNumbers),
                _ => {}
            }
        }
    });
}

/// Demo mode: the cards to place on the demo reader.
#[cfg(feature = "demo")]
fn demo_panel(ui: &mut Ui, env: &demo::DemoEnv, banner: &mut Option<String>) {
    egui::Panel::right("demo-cards")
        .resizable(false)
        .exact_size(300.0)
        .show(ui, |ui| {
            ui.label(RichText::new("デモ用カード").size(22.0).strong());
            ui.label(
                RichText::new(format!(
                    "タップでリーダーに置きます。目視確認のパスコード: {}",
                    demo::DEMO_PASSCODE
                ))
                .size(16.0),
            );
            // What the card on the reader needs stays at the top; the cards scroll below it
            // (the panel lists more cards than a 768-pixel screen holds).
            let on_reader = env.reader.current();
            if let Some(card) = demo::DEMO_CARDS.iter().find(|c| Some(c.label) == on_reader) {
                if let Some(pin) = env.pin_of(card) {
                    ui.label(RichText::new(format!("このカードの暗証番号: {pin}")).size(16.0));
                }
            }
            if ui
                .add(egui::Button::new("カードを取る").min_size(egui::vec2(270.0, 48.0)))
                .clicked()
            {
                env.reader.remove();
            }
            if ui
                .add(egui::Button::new("カードを新品に戻す").min_size(egui::vec2(270.0, 40.0)))
                .clicked()
            {
                env.reader.remove();
                env.reader.forget_pocket();
            }
            ui.separator();
            egui::ScrollArea::vertical().show(ui, |ui| {
                for card in demo::DEMO_CARDS {
                    let selected = on_reader == Some(card.label);
                    let text =
                        RichText::new(format!("{}\n{}", card.label, card.outcome)).size(17.0);
                    let button = egui::Button::new(text)
                        .min_size(egui::vec2(270.0, 56.0))
                        .selected(selected);
                    let response = ui.add(button);
                    if response.clicked() {
                        *banner = env.place(card).err().map(|e| e.to_string());
                    }
                }
                ui.label(
                    RichText::new("取ったカードは暗証番号の残り回数などを覚えています。")
                        .size(14.0),
                );
            });
        });
}

#[cfg(test)]
mod tests {
    use super::fit_window;
    use egui::vec2;

    #[test]
    fn the_window_is_never_larger_than_its_monitor() {
        // The restored size fits a 1024×768 screen and is left alone there.
        assert_eq!(
            fit_window(vec2(1000.0, 680.0), vec2(1024.0, 768.0), false),
            None
        );
        // A window larger than a small monitor is brought inside it.
        assert_eq!(
            fit_window(vec2(1000.0, 680.0), vec2(800.0, 600.0), false),
            Some(vec2(800.0, 600.0))
        );
        // Screenshots take the screen they are made on.
        assert_eq!(
            fit_window(vec2(1000.0, 680.0), vec2(1366.0, 768.0), true),
            Some(vec2(1366.0, 768.0))
        );
        // Not known yet: nothing asked.
        assert_eq!(fit_window(vec2(1000.0, 680.0), vec2(0.0, 0.0), true), None);
    }
}
