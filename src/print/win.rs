//! Printing on Windows without a PDF application: the parts that compile on every platform.
//!
//! The kept PDF is rasterised here (hayro) and the pages are drawn on the printer's device
//! context through GDI ([`gdi`], Windows only). What does not need Windows lives in this file
//! and is unit-tested on Linux:
//!
//! - [`place_page`]: where a page goes on the paper, in device pixels (actual size when it fits
//!   the sheet, else shrunk to the printable area; turned a quarter when page and paper differ
//!   in orientation), and the resolution to rasterise it at (the printer's, at most
//!   [`MAX_RASTER_DPI`]);
//! - [`Dib`]: the rendered RGBA pixels as a bottom-up 24-bit device-independent bitmap, turned
//!   if asked, and cut into [`bands`] so no driver gets one huge bitmap;
//! - [`win32_failure`]: a failed Win32 call as a [`PrintError`] (no default printer, unknown
//!   printer, anything else), its code and the system's text kept for the log;
//! - [`run_bounded`]: the job on a worker thread, given up on after the printer's timeout (a
//!   GDI call can block for minutes on a network printer that is gone).
#![cfg_attr(not(windows), allow(dead_code))]

use std::time::Duration;

use super::PrintError;

#[cfg(windows)]
pub(crate) mod gdi;

/// The highest resolution a page is rasterised at. A 600 dpi printer gets each pixel twice
/// (GDI stretches); 300 dpi keeps text and the QR code sharp at a quarter of the memory
/// (an A4 page is 2480 × 3508 pixels, 26 MB as a 24-bit bitmap).
pub const MAX_RASTER_DPI: f64 = 300.0;

/// At most this many pixels per rasterised page, whatever the page size says (a PDF page can
/// claim to be metres wide): the resolution is lowered to stay under it.
pub const MAX_RASTER_PIXELS: f64 = 36_000_000.0;

/// Rows of the bitmap sent per `StretchDIBits` call.
pub const BAND_ROWS: usize = 512;

/// A page at actual size counts as fitting the sheet when it is at most this much larger
/// (rounding, and A4 forms on sheets that the driver reports a hair smaller).
const FIT_TOLERANCE_MM: f64 = 2.0;

const MM_PER_INCH: f64 = 25.4;
const PT_PER_INCH: f64 = 72.0;

/// What the printer's device context says about the sheet (`GetDeviceCaps`), in device pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceGeometry {
    /// Pixels per inch across and down (`LOGPIXELSX`, `LOGPIXELSY`).
    pub dpi_x: i32,
    pub dpi_y: i32,
    /// The printable area (`HORZRES`, `VERTRES`); device coordinates start at its top-left.
    pub printable_width: i32,
    pub printable_height: i32,
    /// The whole sheet (`PHYSICALWIDTH`, `PHYSICALHEIGHT`); 0 when the driver does not say.
    pub sheet_width: i32,
    pub sheet_height: i32,
    /// Where the printable area starts on the sheet (`PHYSICALOFFSETX`, `PHYSICALOFFSETY`).
    pub offset_x: i32,
    pub offset_y: i32,
}

impl DeviceGeometry {
    /// The geometry with a missing or inconsistent sheet replaced by the printable area, or a
    /// description of what is unusable (no resolution, no printable area).
    fn checked(self) -> Result<DeviceGeometry, String> {
        if self.dpi_x <= 0 || self.dpi_y <= 0 {
            return Err(format!(
                "the printer reports no resolution ({} x {} dpi)",
                self.dpi_x, self.dpi_y
            ));
        }
        if self.printable_width <= 0 || self.printable_height <= 0 {
            return Err(format!(
                "the printer reports no printable area ({} x {} pixels)",
                self.printable_width, self.printable_height
            ));
        }
        let sheet_ok = self.sheet_width >= self.printable_width
            && self.sheet_height >= self.printable_height
            && self.offset_x >= 0
            && self.offset_y >= 0;
        Ok(if sheet_ok {
            self
        } else {
            DeviceGeometry {
                sheet_width: self.printable_width,
                sheet_height: self.printable_height,
                offset_x: 0,
                offset_y: 0,
                ..self
            }
        })
    }
}

/// Where one page goes and how to rasterise it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// Turn the rendered page a quarter counter-clockwise (its top to the left edge of the
    /// sheet): a landscape page on portrait paper or the reverse.
    pub rotate: bool,
    /// The destination rectangle in device pixels, relative to the printable area's top-left
    /// (it may start above or left of it when an actual-size page is wider than the printable
    /// area: the printer cuts what it cannot reach, as a PDF viewer's "actual size" does).
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
    /// Pixels per PDF point to rasterise the (unturned) page at.
    pub scale: f64,
    /// Whether the page was shrunk to fit (it was larger than the sheet).
    pub shrunk: bool,
}

/// Places a page of `page_width_pt` × `page_height_pt` (as displayed, after its `/Rotate`) on
/// the sheet described by `device`.
///
/// Actual size, centred on the sheet, when the page fits the sheet (an A4 form on A4 keeps its
/// millimetres, so boxes and the QR code come out as designed); otherwise shrunk to the
/// printable area, centred there. The page is turned when its orientation and the sheet's
/// differ. The raster resolution is the printer's, at most [`MAX_RASTER_DPI`] and
/// [`MAX_RASTER_PIXELS`].
pub fn place_page(
    page_width_pt: f64,
    page_height_pt: f64,
    device: DeviceGeometry,
) -> Result<Placement, String> {
    let device = device.checked()?;
    if !(page_width_pt.is_finite()
        && page_height_pt.is_finite()
        && page_width_pt >= 1.0
        && page_height_pt >= 1.0)
    {
        return Err(format!(
            "the page has no usable size ({page_width_pt} x {page_height_pt} pt)"
        ));
    }
    let dpi_x = f64::from(device.dpi_x);
    let dpi_y = f64::from(device.dpi_y);
    // Orientation in inches, not pixels: a printer's two resolutions may differ.
    let sheet_w_in = f64::from(device.sheet_width) / dpi_x;
    let sheet_h_in = f64::from(device.sheet_height) / dpi_y;
    let page_landscape = page_width_pt > page_height_pt;
    let sheet_landscape = sheet_w_in > sheet_h_in;
    let rotate = page_landscape != sheet_landscape
        && page_width_pt != page_height_pt
        && sheet_w_in != sheet_h_in;
    // The page as it lies on the sheet, in points.
    let (lying_w, lying_h) = if rotate {
        (page_height_pt, page_width_pt)
    } else {
        (page_width_pt, page_height_pt)
    };
    // Actual size in device pixels.
    let actual_w = lying_w / PT_PER_INCH * dpi_x;
    let actual_h = lying_h / PT_PER_INCH * dpi_y;
    let tolerance_x = FIT_TOLERANCE_MM / MM_PER_INCH * dpi_x;
    let tolerance_y = FIT_TOLERANCE_MM / MM_PER_INCH * dpi_y;
    let fits_sheet = actual_w <= f64::from(device.sheet_width) + tolerance_x
        && actual_h <= f64::from(device.sheet_height) + tolerance_y;
    let (factor, x, y) = if fits_sheet {
        let x = (f64::from(device.sheet_width) - actual_w) / 2.0 - f64::from(device.offset_x);
        let y = (f64::from(device.sheet_height) - actual_h) / 2.0 - f64::from(device.offset_y);
        (1.0, x, y)
    } else {
        let factor = (f64::from(device.printable_width) / actual_w)
            .min(f64::from(device.printable_height) / actual_h);
        let x = (f64::from(device.printable_width) - actual_w * factor) / 2.0;
        let y = (f64::from(device.printable_height) - actual_h * factor) / 2.0;
        (factor, x, y)
    };
    let width = (actual_w * factor).round().max(1.0);
    let height = (actual_h * factor).round().max(1.0);
    // Raster: the printer's resolution scaled like the page, capped.
    let dpi = dpi_x.max(dpi_y).min(MAX_RASTER_DPI);
    let mut scale = dpi / PT_PER_INCH * factor;
    let pixels = page_width_pt * scale * page_height_pt * scale;
    if pixels > MAX_RASTER_PIXELS {
        scale *= (MAX_RASTER_PIXELS / pixels).sqrt();
    }
    // hayro's pixmaps are at most u16::MAX pixels on a side.
    let longest = page_width_pt.max(page_height_pt);
    scale = scale.min(f64::from(u16::MAX - 1) / longest);
    Ok(Placement {
        rotate,
        x: x.round() as i32,
        y: y.round() as i32,
        width: width as i32,
        height: height as i32,
        scale,
        shrunk: !fits_sheet,
    })
}

/// A 24-bit, bottom-up device-independent bitmap (BGR, rows padded to 4 bytes): what
/// `StretchDIBits` takes with `BI_RGB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dib {
    pub width: usize,
    pub height: usize,
    /// Bytes per row, a multiple of 4.
    pub stride: usize,
    /// `height` rows of `stride` bytes, the bottom row first.
    pub bytes: Vec<u8>,
}

impl Dib {
    /// The bitmap of `rgba` (premultiplied RGBA, `width` × `height`, top row first, as hayro
    /// renders it), laid on white, turned a quarter counter-clockwise when `rotate`.
    /// `None` when `rgba` is not `width × height × 4` bytes.
    pub fn from_premultiplied_rgba(
        rgba: &[u8],
        width: usize,
        height: usize,
        rotate: bool,
    ) -> Option<Dib> {
        if width.checked_mul(height)?.checked_mul(4)? != rgba.len() {
            return None;
        }
        let (out_w, out_h) = if rotate {
            (height, width)
        } else {
            (width, height)
        };
        let stride = (out_w * 3).div_ceil(4) * 4;
        let mut bytes = vec![0u8; stride.checked_mul(out_h)?];
        for (y, row) in rgba.chunks_exact(width * 4).enumerate() {
            for (x, px) in row.chunks_exact(4).enumerate() {
                // Premultiplied over white: c + (255 - a).
                let white = 255 - px[3];
                let bgr = [
                    px[2].saturating_add(white),
                    px[1].saturating_add(white),
                    px[0].saturating_add(white),
                ];
                // (x, y) in the top-down source → (out_x, out_y) top-down in the output.
                // Counter-clockwise: the source's top row becomes the left column, read
                // bottom to top.
                let (out_x, out_y) = if rotate { (y, width - 1 - x) } else { (x, y) };
                let row_start = (out_h - 1 - out_y) * stride;
                let at = row_start + out_x * 3;
                bytes[at..at + 3].copy_from_slice(&bgr);
            }
        }
        Some(Dib {
            width: out_w,
            height: out_h,
            stride,
            bytes,
        })
    }
}

/// One strip of a [`Dib`] for one `StretchDIBits` call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Band {
    /// The strip's first row counted from the top of the bitmap, and its number of rows.
    pub top_row: usize,
    pub rows: usize,
    /// Where its bytes start in [`Dib::bytes`] (bottom-up: the strip's bottom row).
    pub byte_offset: usize,
    /// Its destination rows in device pixels, in the same coordinates as [`Placement::y`].
    pub dest_y: i32,
    pub dest_height: i32,
}

/// `dib` cut into strips of at most `band_rows` rows, each with its share of the destination
/// `dest_y .. dest_y + dest_height`. Consecutive strips meet exactly (no gap, no overlap).
pub fn bands(dib: &Dib, band_rows: usize, dest_y: i32, dest_height: i32) -> Vec<Band> {
    let band_rows = band_rows.max(1);
    let total = dib.height;
    let dest_at = |row: usize| -> i32 {
        if total == 0 {
            return dest_y;
        }
        let share = (f64::from(dest_height) * row as f64 / total as f64).round();
        dest_y + share as i32
    };
    let mut out = Vec::new();
    let mut top = 0;
    while top < total {
        let rows = band_rows.min(total - top);
        let y0 = dest_at(top);
        let y1 = dest_at(top + rows);
        out.push(Band {
            top_row: top,
            rows,
            byte_offset: (total - top - rows) * dib.stride,
            dest_y: y0,
            dest_height: y1 - y0,
        });
        top += rows;
    }
    out
}

/// The step of a Windows print job that failed, for the log and for sorting the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `GetDefaultPrinterW`: which printer is the default.
    DefaultPrinter,
    /// `OpenPrinterW` / `GetPrinterW`: the named printer and its state.
    OpenPrinter,
    /// `CreateDCW`: the printer's device context.
    CreateDc,
    /// `StartDocW`: the spooler accepting a job.
    StartDoc,
    StartPage,
    /// `StretchDIBits`: drawing a page.
    DrawPage,
    EndPage,
    /// `EndDoc`: handing the finished job to the spooler.
    EndDoc,
}

impl Step {
    fn call(self) -> &'static str {
        match self {
            Step::DefaultPrinter => "GetDefaultPrinterW",
            Step::OpenPrinter => "OpenPrinterW",
            Step::CreateDc => "CreateDCW",
            Step::StartDoc => "StartDocW",
            Step::StartPage => "StartPage",
            Step::DrawPage => "StretchDIBits",
            Step::EndPage => "EndPage",
            Step::EndDoc => "EndDoc",
        }
    }
}

/// `ERROR_FILE_NOT_FOUND`: `GetDefaultPrinterW` with no default printer.
const ERROR_FILE_NOT_FOUND: u32 = 2;
/// `ERROR_INVALID_NAME`.
const ERROR_INVALID_NAME: u32 = 123;
/// `ERROR_CANCELLED`: the job was cancelled (a driver's or "print to file" dialog closed).
const ERROR_CANCELLED: u32 = 1223;
/// `ERROR_INVALID_PRINTER_NAME`: no printer of that name.
const ERROR_INVALID_PRINTER_NAME: u32 = 1801;
/// `ERROR_PRINTER_DELETED`: removed while we used it.
const ERROR_PRINTER_DELETED: u32 = 1905;
/// `ERROR_PRINTER_NOT_FOUND`.
const ERROR_PRINTER_NOT_FOUND: u32 = 3012;

/// A failed Win32 call of `step` as a [`PrintError`]. `printer` is the printer's name (`None`
/// before the default printer is known), `code` what `GetLastError` said (0 when the call did
/// not set it), `message` the system's text for it (kept in the detail for the log).
pub fn win32_failure(step: Step, printer: Option<&str>, code: u32, message: &str) -> PrintError {
    let detail = if code == 0 {
        format!("{} failed (no error code)", step.call())
    } else {
        format!(
            "{} failed: Win32 error {code}: {}",
            step.call(),
            message.trim()
        )
    };
    match (step, printer) {
        (Step::DefaultPrinter, _) | (_, None) => PrintError::NoDefaultPrinter(detail),
        (Step::OpenPrinter | Step::CreateDc | Step::StartDoc, Some(name))
            if matches!(
                code,
                ERROR_FILE_NOT_FOUND
                    | ERROR_INVALID_NAME
                    | ERROR_INVALID_PRINTER_NAME
                    | ERROR_PRINTER_DELETED
                    | ERROR_PRINTER_NOT_FOUND
            ) =>
        {
            PrintError::UnknownQueue {
                queue: name.to_string(),
                detail,
            }
        }
        (_, Some(name)) => PrintError::PrintFailed {
            status: if code == ERROR_CANCELLED {
                format!("job cancelled on {name:?}")
            } else {
                format!("{} on {name:?}", step.call())
            },
            detail,
        },
    }
}

/// `PRINTER_STATUS_PAUSED`.
const PRINTER_STATUS_PAUSED: u32 = 0x1;
/// `PRINTER_STATUS_OFFLINE`.
const PRINTER_STATUS_OFFLINE: u32 = 0x80;
/// `PRINTER_STATUS_NOT_AVAILABLE`.
const PRINTER_STATUS_NOT_AVAILABLE: u32 = 0x1000;
/// `PRINTER_STATUS_SERVER_OFFLINE`.
const PRINTER_STATUS_SERVER_OFFLINE: u32 = 0x0200_0000;
/// `PRINTER_ATTRIBUTE_WORK_OFFLINE` ("Use Printer Offline", also set by Windows for a USB
/// printer that is unplugged).
const PRINTER_ATTRIBUTE_WORK_OFFLINE: u32 = 0x400;

/// The printer's queue state (`PRINTER_INFO_6::dwStatus`, `PRINTER_INFO_4W::Attributes`) as
/// an error when a job sent now would only wait in the queue: offline, unavailable or paused.
/// Paper out, a door open or a jam are not refused: the job prints once they are seen to,
/// as with CUPS.
pub fn refuse_offline(printer: &str, status: u32, attributes: u32) -> Option<PrintError> {
    let mut why = Vec::new();
    if attributes & PRINTER_ATTRIBUTE_WORK_OFFLINE != 0 {
        why.push("set to work offline");
    }
    if status & PRINTER_STATUS_OFFLINE != 0 {
        why.push("offline");
    }
    if status & PRINTER_STATUS_SERVER_OFFLINE != 0 {
        why.push("its print server is offline");
    }
    if status & PRINTER_STATUS_NOT_AVAILABLE != 0 {
        why.push("not available");
    }
    if status & PRINTER_STATUS_PAUSED != 0 {
        why.push("paused");
    }
    if why.is_empty() {
        return None;
    }
    Some(PrintError::PrinterOffline {
        printer: printer.to_string(),
        detail: format!(
            "{} (status {status:#x}, attributes {attributes:#x})",
            why.join(", ")
        ),
    })
}

/// Runs `job` on a worker thread and waits at most `timeout` for it. On timeout the worker is
/// left to finish on its own (a blocked GDI call cannot be interrupted; it cleans up after
/// itself) and [`PrintError::Timeout`] is returned. A worker that panics is a
/// [`PrintError::PrintFailed`], never a panic here.
pub fn run_bounded<T, F>(timeout: Duration, job: F) -> Result<T, PrintError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, PrintError> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::Builder::new()
        .name("print-job".into())
        .spawn(move || {
            // The receiver may be gone (timed out): nobody to tell.
            let _ = tx.send(job());
        })
        .map_err(|e| PrintError::PrintFailed {
            status: "not started".into(),
            detail: format!("cannot start the print thread: {e}"),
        })?;
    match rx.recv_timeout(timeout) {
        Ok(result) => result,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(PrintError::Timeout(timeout)),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            let why = match worker.join() {
                Err(payload) => payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into()),
                Ok(()) => "the print thread ended without an answer".into(),
            };
            Err(PrintError::PrintFailed {
                status: "print thread failed".into(),
                detail: why,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A4_PT: (f64, f64) = (595.28, 841.89);

    /// A 600 dpi A4 printer with 1/6 inch (100 px) unprintable margins all round.
    fn a4_600dpi() -> DeviceGeometry {
        DeviceGeometry {
            dpi_x: 600,
            dpi_y: 600,
            printable_width: 4960 - 200,
            printable_height: 7016 - 200,
            sheet_width: 4960,
            sheet_height: 7016,
            offset_x: 100,
            offset_y: 100,
        }
    }

    #[test]
    fn an_a4_form_on_a4_paper_is_actual_size_at_300_dpi() {
        let p = place_page(A4_PT.0, A4_PT.1, a4_600dpi()).unwrap();
        assert!(!p.rotate && !p.shrunk, "{p:?}");
        // 210 mm at 600 dpi = 4961 px: the sheet, starting at the sheet's edge (-offset).
        assert!((p.width - 4961).abs() <= 1, "{p:?}");
        assert!((p.height - 7016).abs() <= 1, "{p:?}");
        assert!((p.x + 100).abs() <= 1 && (p.y + 100).abs() <= 1, "{p:?}");
        // Rasterised at 300 dpi, not 600.
        assert!((p.scale - 300.0 / 72.0).abs() < 1e-9);
    }

    #[test]
    fn a_low_resolution_printer_gets_its_own_resolution() {
        let device = DeviceGeometry {
            dpi_x: 150,
            dpi_y: 150,
            printable_width: 1240 - 50,
            printable_height: 1754 - 50,
            sheet_width: 1240,
            sheet_height: 1754,
            offset_x: 25,
            offset_y: 25,
        };
        let p = place_page(A4_PT.0, A4_PT.1, device).unwrap();
        assert!((p.scale - 150.0 / 72.0).abs() < 1e-9);
        assert_eq!((p.x, p.y), (-25, -25));
    }

    #[test]
    fn a_smaller_page_is_centred_on_the_sheet() {
        // A5 (148 x 210 mm) on A4 at 600 dpi.
        let p = place_page(419.53, 595.28, a4_600dpi()).unwrap();
        assert!(!p.shrunk && !p.rotate);
        let centre_x = p.x + 100 + p.width / 2;
        let centre_y = p.y + 100 + p.height / 2;
        assert!(
            (centre_x - 2480).abs() <= 1 && (centre_y - 3508).abs() <= 1,
            "{p:?}"
        );
    }

    #[test]
    fn a4_on_letter_paper_is_shrunk_into_the_printable_area() {
        // Letter: 8.5 x 11 in at 600 dpi, 0.25 in margins.
        let device = DeviceGeometry {
            dpi_x: 600,
            dpi_y: 600,
            printable_width: 5100 - 300,
            printable_height: 6600 - 300,
            sheet_width: 5100,
            sheet_height: 6600,
            offset_x: 150,
            offset_y: 150,
        };
        let p = place_page(A4_PT.0, A4_PT.1, device).unwrap();
        assert!(p.shrunk && !p.rotate, "{p:?}");
        // Height-bound: the full printable height, centred across.
        assert_eq!((p.y, p.height), (0, 6300));
        assert!(p.x >= 0 && p.x + p.width <= 4800);
        assert!((p.x * 2 + p.width - 4800).abs() <= 1, "{p:?}");
        // The aspect ratio is kept.
        let aspect = f64::from(p.width) / f64::from(p.height);
        assert!((aspect - A4_PT.0 / A4_PT.1).abs() < 0.001);
        // The raster is scaled down with the page.
        assert!(p.scale < 300.0 / 72.0);
    }

    #[test]
    fn a_landscape_page_on_portrait_paper_is_turned() {
        let p = place_page(A4_PT.1, A4_PT.0, a4_600dpi()).unwrap();
        assert!(p.rotate && !p.shrunk, "{p:?}");
        assert!(p.height > p.width);
        // And a portrait page on paper the driver set to landscape.
        let landscape = DeviceGeometry {
            dpi_x: 600,
            dpi_y: 600,
            printable_width: 7016 - 200,
            printable_height: 4960 - 200,
            sheet_width: 7016,
            sheet_height: 4960,
            offset_x: 100,
            offset_y: 100,
        };
        let p = place_page(A4_PT.0, A4_PT.1, landscape).unwrap();
        assert!(p.rotate && !p.shrunk && p.width > p.height, "{p:?}");
    }

    #[test]
    fn unequal_resolutions_keep_millimetres() {
        let device = DeviceGeometry {
            dpi_x: 600,
            dpi_y: 300,
            printable_width: 4960,
            printable_height: 3508,
            sheet_width: 4960,
            sheet_height: 3508,
            offset_x: 0,
            offset_y: 0,
        };
        let p = place_page(A4_PT.0, A4_PT.1, device).unwrap();
        assert!(!p.shrunk);
        assert!(
            (p.width - 4961).abs() <= 1 && (p.height - 3508).abs() <= 1,
            "{p:?}"
        );
        assert!((p.scale - 300.0 / 72.0).abs() < 1e-9);
    }

    #[test]
    fn a_driver_without_sheet_size_uses_the_printable_area() {
        let device = DeviceGeometry {
            sheet_width: 0,
            sheet_height: 0,
            offset_x: 0,
            offset_y: 0,
            ..a4_600dpi()
        };
        let p = place_page(A4_PT.0, A4_PT.1, device).unwrap();
        // A4 does not fit the printable area alone: shrunk into it, inside it.
        assert!(p.shrunk);
        assert!(p.x >= 0 && p.y >= 0);
        assert!(p.x + p.width <= device.printable_width);
        assert!(p.y + p.height <= device.printable_height);
    }

    #[test]
    fn unusable_pages_and_devices_are_errors_not_panics() {
        assert!(place_page(0.0, 842.0, a4_600dpi()).is_err());
        assert!(place_page(f64::NAN, 842.0, a4_600dpi()).is_err());
        assert!(place_page(595.0, f64::INFINITY, a4_600dpi()).is_err());
        let no_dpi = DeviceGeometry {
            dpi_x: 0,
            ..a4_600dpi()
        };
        assert!(place_page(A4_PT.0, A4_PT.1, no_dpi).is_err());
        let no_area = DeviceGeometry {
            printable_height: 0,
            ..a4_600dpi()
        };
        assert!(place_page(A4_PT.0, A4_PT.1, no_area).is_err());
    }

    #[test]
    fn a_huge_page_is_rasterised_within_the_pixel_budget() {
        // 5 m x 5 m.
        let p = place_page(14_173.0, 14_173.0, a4_600dpi()).unwrap();
        assert!(p.shrunk);
        let pixels = (14_173.0 * p.scale).powi(2);
        assert!(pixels <= MAX_RASTER_PIXELS * 1.0001, "{pixels}");
        assert!(14_173.0 * p.scale < f64::from(u16::MAX));
    }

    /// 3 × 2 pixels, premultiplied RGBA: distinct opaque colours and one transparent pixel.
    fn sample() -> Vec<u8> {
        [
            [255, 0, 0, 255],
            [0, 255, 0, 255],
            [0, 0, 255, 255],
            [10, 20, 30, 255],
            [0, 0, 0, 0],
            [50, 50, 50, 128],
        ]
        .concat()
    }

    /// The BGR of pixel (x, y), counted from the top, of a bottom-up DIB.
    fn at(dib: &Dib, x: usize, y: usize) -> [u8; 3] {
        let at = (dib.height - 1 - y) * dib.stride + x * 3;
        [dib.bytes[at], dib.bytes[at + 1], dib.bytes[at + 2]]
    }

    #[test]
    fn rgba_becomes_a_bottom_up_bgr_bitmap_on_white() {
        let dib = Dib::from_premultiplied_rgba(&sample(), 3, 2, false).unwrap();
        assert_eq!((dib.width, dib.height), (3, 2));
        // 9 bytes a row, padded to 12.
        assert_eq!(dib.stride, 12);
        assert_eq!(dib.bytes.len(), 24);
        assert_eq!(at(&dib, 0, 0), [0, 0, 255]);
        assert_eq!(at(&dib, 1, 0), [0, 255, 0]);
        assert_eq!(at(&dib, 2, 0), [255, 0, 0]);
        assert_eq!(at(&dib, 0, 1), [30, 20, 10]);
        // Transparent is paper white; half-covered grey is lighter.
        assert_eq!(at(&dib, 1, 1), [255, 255, 255]);
        assert_eq!(at(&dib, 2, 1), [177, 177, 177]);
        // The bottom row comes first in memory.
        assert_eq!(&dib.bytes[0..3], &[30, 20, 10]);
    }

    #[test]
    fn rotation_puts_the_top_of_the_page_on_the_left() {
        let dib = Dib::from_premultiplied_rgba(&sample(), 3, 2, true).unwrap();
        assert_eq!((dib.width, dib.height), (2, 3));
        assert_eq!(dib.stride, 8);
        // The source's top row (red, green, blue) is the left column, read bottom to top.
        assert_eq!(at(&dib, 0, 2), [0, 0, 255]);
        assert_eq!(at(&dib, 0, 1), [0, 255, 0]);
        assert_eq!(at(&dib, 0, 0), [255, 0, 0]);
        // The source's bottom-left pixel is the bottom-right one.
        assert_eq!(at(&dib, 1, 2), [30, 20, 10]);
    }

    #[test]
    fn a_wrong_pixel_buffer_is_refused() {
        assert_eq!(Dib::from_premultiplied_rgba(&[0; 7], 1, 2, false), None);
        assert_eq!(
            Dib::from_premultiplied_rgba(&[], usize::MAX, 2, false),
            None
        );
    }

    #[test]
    fn bands_cover_the_bitmap_and_the_destination_exactly() {
        let dib = Dib {
            width: 1,
            height: 1100,
            stride: 4,
            bytes: vec![0; 4400],
        };
        let b = bands(&dib, 512, -100, 7016);
        assert_eq!(b.len(), 3);
        assert_eq!(
            b.iter().map(|b| b.rows).collect::<Vec<_>>(),
            vec![512, 512, 76]
        );
        assert_eq!(b[0].top_row, 0);
        assert_eq!(b[0].dest_y, -100);
        for pair in b.windows(2) {
            assert_eq!(pair[0].top_row + pair[0].rows, pair[1].top_row);
            assert_eq!(pair[0].dest_y + pair[0].dest_height, pair[1].dest_y);
        }
        let last = b[2];
        assert_eq!(last.dest_y + last.dest_height, -100 + 7016);
        // Bottom-up: the top band's bytes are at the end, the bottom band's at the start.
        assert_eq!(b[0].byte_offset, (1100 - 512) * 4);
        assert_eq!(last.byte_offset, 0);
        assert!(bands(&Dib { height: 0, ..dib }, 512, 0, 10).is_empty());
    }

    #[test]
    fn win32_errors_become_the_desk_errors() {
        let e = win32_failure(
            Step::DefaultPrinter,
            None,
            2,
            "The system cannot find the file specified.",
        );
        assert_eq!(e.kind(), "no_default_printer");
        assert!(
            e.to_string()
                .contains("GetDefaultPrinterW failed: Win32 error 2"),
            "{e}"
        );
        let e = win32_failure(
            Step::OpenPrinter,
            Some("受付A4"),
            1801,
            "The printer name is invalid.",
        );
        assert_eq!(e.kind(), "unknown_queue");
        assert!(
            e.to_string().contains("受付A4") && e.to_string().contains("1801"),
            "{e}"
        );
        let e = win32_failure(Step::StartDoc, Some("desk"), 1223, "cancelled");
        assert_eq!(e.kind(), "print_failed");
        assert!(e.to_string().contains("job cancelled"), "{e}");
        let e = win32_failure(Step::StartDoc, Some("desk"), 5, "Access is denied.");
        assert_eq!(e.kind(), "print_failed");
        assert!(e.to_string().contains("StartDocW"), "{e}");
        // A call that set no error code still says which call failed.
        let e = win32_failure(Step::CreateDc, Some("desk"), 0, "");
        assert!(
            e.to_string().contains("CreateDCW failed (no error code)"),
            "{e}"
        );
        // Every kind has its Japanese sentence, which keeps the PDF.
        for e in [
            win32_failure(Step::DefaultPrinter, None, 2, ""),
            win32_failure(Step::OpenPrinter, Some("x"), 1801, ""),
            win32_failure(Step::EndDoc, Some("x"), 6, ""),
            PrintError::Render("not a readable PDF".into()),
            PrintError::Timeout(Duration::from_secs(20)),
        ] {
            assert!(e.desk_message().contains("PDFは保存済み"), "{e}");
        }
    }

    #[test]
    fn an_offline_or_paused_printer_is_refused_and_paper_out_is_not() {
        assert_eq!(refuse_offline("desk", 0, 0), None);
        // Paper out (0x10), door open (0x400000): the job waits for the staff, as with CUPS.
        assert_eq!(refuse_offline("desk", 0x10 | 0x0040_0000, 0), None);
        for (status, attributes, why) in [
            (0x80, 0, "offline"),
            (0, 0x400, "work offline"),
            (0x0200_0000, 0, "print server is offline"),
            (0x1000, 0, "not available"),
            (0x1, 0, "paused"),
        ] {
            let e = refuse_offline("desk", status, attributes).unwrap();
            assert_eq!(e.kind(), "printer_offline");
            assert!(e.to_string().contains(why), "{e}");
            assert!(e.desk_message().contains("オフライン"), "{e}");
        }
    }

    #[test]
    fn a_job_that_hangs_is_given_up_after_the_timeout() {
        let started = std::time::Instant::now();
        let err = run_bounded(Duration::from_millis(100), || {
            std::thread::sleep(Duration::from_secs(5));
            Ok(())
        })
        .unwrap_err();
        assert_eq!(err.kind(), "timeout");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn a_job_answers_through_the_worker_and_a_panic_is_an_error() {
        assert_eq!(run_bounded(Duration::from_secs(5), || Ok(7)), Ok(7));
        let err = run_bounded(Duration::from_secs(5), || -> Result<(), PrintError> {
            Err(PrintError::NoDefaultPrinter("none".into()))
        })
        .unwrap_err();
        assert_eq!(err.kind(), "no_default_printer");
        let err = run_bounded(Duration::from_secs(5), || -> Result<(), PrintError> {
            panic!("driver exploded")
        })
        .unwrap_err();
        assert_eq!(err.kind(), "print_failed");
        assert!(err.to_string().contains("driver exploded"), "{err}");
    }
}
