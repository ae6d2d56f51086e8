//! Look and feel: the bundled Japanese font, touch sizes, calm high-contrast colours.

use egui::{Color32, FontData, FontDefinitions, FontFamily, FontId, TextStyle};

use crate::domain::VerdictKind;

/// The smallest hit target, in points (touch guidelines ask for at least 48 px).
pub const TOUCH: f32 = 64.0;

pub const VALID: Color32 = Color32::from_rgb(0x1B, 0x6E, 0x3A);
pub const WARN: Color32 = Color32::from_rgb(0x8A, 0x5A, 0x00);
pub const BAD: Color32 = Color32::from_rgb(0xA3, 0x1D, 0x1D);
pub const INFO: Color32 = Color32::from_rgb(0x1F, 0x4E, 0x8C);
/// Staff-only steps (職員用): a colour no verdict uses.
pub const STAFF: Color32 = Color32::from_rgb(0x5B, 0x2A, 0x86);

/// Installs the font and the desk's text sizes (body ≥ 20 px), scaled by `scale`.
pub fn install(ctx: &egui::Context, scale: f32) {
    let mut fonts = FontDefinitions::default();
    // The bundled font: every glyph the desk shows, the same on every PC, whatever the system.
    fonts.font_data.insert(
        "ipaexg".into(),
        FontData::from_static(crate::assets::JAPANESE_FONT_TTF).into(),
    );
    for family in [FontFamily::Proportional, FontFamily::Monospace] {
        fonts
            .families
            .entry(family)
            .or_default()
            .insert(0, "ipaexg".into());
    }
    ctx.set_fonts(fonts);
    ctx.set_theme(egui::Theme::Light);
    ctx.all_styles_mut(|style| {
        let size = |s: f32| FontId::proportional(s * scale);
        style.text_styles = [
            (TextStyle::Heading, size(34.0)),
            (TextStyle::Body, size(22.0)),
            (TextStyle::Button, size(24.0)),
            (TextStyle::Small, size(18.0)),
            (TextStyle::Monospace, FontId::monospace(22.0 * scale)),
        ]
        .into();
        style.spacing.button_padding = egui::vec2(18.0, 12.0);
        style.spacing.item_spacing = egui::vec2(12.0, 12.0);
        // Checkboxes, choices and text fields: at least 48 px to hit; buttons set their own
        // (larger) sizes, read-only rows stay compact.
        style.spacing.interact_size.y = 48.0;
        // A long press on a touch screen must not start selecting text.
        style.interaction.selectable_labels = false;
        style.visuals = egui::Visuals::light();
        style.visuals.override_text_color = Some(Color32::from_gray(20));
    });
}

/// The colour that says what a verdict means at a glance.
pub fn verdict_colour(kind: VerdictKind) -> Color32 {
    match kind {
        VerdictKind::Valid => VALID,
        VerdictKind::CertificateExpiredGrace | VerdictKind::InvalidNewExists => WARN,
        VerdictKind::Several => INFO,
        VerdictKind::ServerError | VerdictKind::Unreachable | VerdictKind::Timeout => WARN,
        VerdictKind::AnswerMismatch => WARN,
        _ => BAD,
    }
}
