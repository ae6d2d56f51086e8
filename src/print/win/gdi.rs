//! The Windows print path: the PDF rasterised with hayro, the pages drawn on the printer's
//! device context through GDI. No PDF application, no shell verb: only the printer driver.
//!
//! Runs on the worker thread of [`super::run_bounded`]. Every handle is released by a guard
//! (`ClosePrinter`, `DeleteDC`, `AbortDoc` for a job not finished), also when a step fails or
//! the renderer panics.

use std::ptr::{null, null_mut};

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};
use windows_sys::Win32::Foundation::{GetLastError, ERROR_INSUFFICIENT_BUFFER};
use windows_sys::Win32::Graphics::Gdi::{
    CreateDCW, DeleteDC, GetDeviceCaps, SetStretchBltMode, StretchDIBits, BITMAPINFO,
    BITMAPINFOHEADER, BI_RGB, COLORONCOLOR, DIB_RGB_COLORS, HDC, HORZRES, LOGPIXELSX, LOGPIXELSY,
    PHYSICALHEIGHT, PHYSICALOFFSETX, PHYSICALOFFSETY, PHYSICALWIDTH, SRCCOPY, VERTRES,
};
use windows_sys::Win32::Graphics::Printing::{
    ClosePrinter, GetDefaultPrinterW, GetPrinterW, OpenPrinterW, PRINTER_HANDLE, PRINTER_INFO_4W,
    PRINTER_INFO_6,
};
use windows_sys::Win32::Storage::Xps::{AbortDoc, EndDoc, EndPage, StartDocW, StartPage, DOCINFOW};

use super::{
    bands, place_page, refuse_offline, win32_failure, DeviceGeometry, Dib, Step, BAND_ROWS,
};
use crate::print::{PrintError, PrintJob};

/// Prints `pdf` on `printer` (`None`: the Windows default printer) as a job called
/// `doc_name` in the printer's queue.
pub(crate) fn print_pdf(
    pdf: Vec<u8>,
    printer: Option<String>,
    doc_name: &str,
) -> Result<PrintJob, PrintError> {
    // Parsed before any printer is touched: an unreadable file never starts a job.
    let pdf =
        Pdf::new(pdf).map_err(|e| PrintError::Render(format!("not a readable PDF: {e:?}")))?;
    let pages = pdf.pages();
    if pages.is_empty() {
        return Err(PrintError::Render("the PDF has no pages".into()));
    }
    let name = match printer {
        Some(name) => name,
        None => default_printer()?,
    };
    let wide_name = wide(&name).ok_or_else(|| PrintError::UnknownQueue {
        queue: name.clone(),
        detail: "a printer name cannot contain NUL".into(),
    })?;
    check_ready(&name, &wide_name)?;

    // SAFETY: `wide_name` is NUL-terminated and outlives the call; the other pointers may be
    // null for a printer (GDI then uses the printer's default settings).
    let hdc = unsafe { CreateDCW(null(), wide_name.as_ptr(), null(), null()) };
    if hdc.is_null() {
        return Err(last_error(Step::CreateDc, &name));
    }
    let dc = Dc(hdc);
    let device = dc.geometry();
    tracing::debug!(printer = %name, ?device, "printer device context");

    // The job's name in the queue; a NUL would only cut it short.
    let title: Vec<u16> = doc_name
        .encode_utf16()
        .filter(|&c| c != 0)
        .chain(std::iter::once(0))
        .collect();
    let info = DOCINFOW {
        cbSize: std::mem::size_of::<DOCINFOW>() as i32,
        lpszDocName: title.as_ptr(),
        lpszOutput: null(),
        lpszDatatype: null(),
        fwType: 0,
    };
    // SAFETY: `dc` is a live printer DC; `info` and the title it points to outlive the call.
    let job_id = unsafe { StartDocW(dc.0, &info) };
    if job_id <= 0 {
        return Err(last_error(Step::StartDoc, &name));
    }
    let mut job = Job {
        dc: &dc,
        done: false,
    };

    let cache = RenderCache::new();
    let interpreter = InterpreterSettings::default();
    let render = RenderSettings::default();
    for (index, page) in pages.iter().enumerate() {
        let (width_pt, height_pt) = page.render_dimensions();
        let placement = place_page(f64::from(width_pt), f64::from(height_pt), device)
            .map_err(|e| PrintError::Render(format!("page {}: {e}", index + 1)))?;
        tracing::debug!(page = index + 1, ?placement, "page placed");
        let pixmap = hayro::render(
            page,
            &cache,
            &interpreter,
            &render,
            &PixmapSettings {
                x_scale: placement.scale as f32,
                y_scale: placement.scale as f32,
                bg_color: WHITE,
            },
        );
        let dib = Dib::from_premultiplied_rgba(
            pixmap.data_as_u8_slice(),
            usize::from(pixmap.width()),
            usize::from(pixmap.height()),
            placement.rotate,
        )
        .filter(|d| d.width > 0 && d.height > 0)
        .ok_or_else(|| {
            PrintError::Render(format!(
                "page {}: empty or inconsistent raster ({} x {})",
                index + 1,
                pixmap.width(),
                pixmap.height()
            ))
        })?;
        drop(pixmap);

        // SAFETY: a live DC inside a started document.
        if unsafe { StartPage(dc.0) } <= 0 {
            return Err(last_error(Step::StartPage, &name));
        }
        // SAFETY: a live DC; the mode is a valid STRETCH_BLT_MODE. Upscaling only (the raster
        // is at most the printer's resolution): plain pixel copies, no smoothing needed.
        unsafe { SetStretchBltMode(dc.0, COLORONCOLOR) };
        for band in bands(&dib, BAND_ROWS, placement.y, placement.height) {
            if band.dest_height <= 0 {
                continue;
            }
            let header = BITMAPINFOHEADER {
                biSize: std::mem::size_of::<BITMAPINFOHEADER>() as u32,
                biWidth: dib.width as i32,
                // Positive: bottom-up, as the bytes are laid out.
                biHeight: band.rows as i32,
                biPlanes: 1,
                biBitCount: 24,
                biCompression: BI_RGB,
                biSizeImage: (band.rows * dib.stride) as u32,
                biXPelsPerMeter: 0,
                biYPelsPerMeter: 0,
                biClrUsed: 0,
                biClrImportant: 0,
            };
            let bitmap = BITMAPINFO {
                bmiHeader: header,
                bmiColors: [Default::default()],
            };
            let bytes = &dib.bytes[band.byte_offset..band.byte_offset + band.rows * dib.stride];
            // SAFETY: `bytes` holds `band.rows` rows of `dib.stride` bytes (a multiple of 4) of
            // 24-bit pixels, `dib.width` wide, as `bitmap` describes; both outlive the call.
            let copied = unsafe {
                StretchDIBits(
                    dc.0,
                    placement.x,
                    band.dest_y,
                    placement.width,
                    band.dest_height,
                    0,
                    0,
                    dib.width as i32,
                    band.rows as i32,
                    bytes.as_ptr().cast(),
                    &bitmap,
                    DIB_RGB_COLORS,
                    SRCCOPY,
                )
            };
            // 0: nothing copied; GDI_ERROR (-1): failed.
            if copied == 0 || copied == -1 {
                return Err(last_error(Step::DrawPage, &name));
            }
        }
        // SAFETY: a live DC inside a started page.
        if unsafe { EndPage(dc.0) } <= 0 {
            return Err(last_error(Step::EndPage, &name));
        }
    }
    // SAFETY: a live DC inside a started document.
    if unsafe { EndDoc(dc.0) } <= 0 {
        return Err(last_error(Step::EndDoc, &name));
    }
    job.done = true;
    Ok(PrintJob {
        request_id: Some(format!("{name}-{job_id}")),
    })
}

/// The Windows default printer's name.
fn default_printer() -> Result<String, PrintError> {
    let mut len: u32 = 0;
    // SAFETY: a null buffer with length 0 asks for the length needed.
    let ok = unsafe { GetDefaultPrinterW(null_mut(), &mut len) };
    if ok == 0 {
        // SAFETY: reads the calling thread's last error.
        let code = unsafe { GetLastError() };
        if code != ERROR_INSUFFICIENT_BUFFER || len == 0 {
            return Err(failure(Step::DefaultPrinter, None, code));
        }
    }
    let mut buffer = vec![0u16; len as usize + 1];
    let mut len = buffer.len() as u32;
    // SAFETY: `buffer` holds `len` UTF-16 units.
    let ok = unsafe { GetDefaultPrinterW(buffer.as_mut_ptr(), &mut len) };
    if ok == 0 {
        return Err(last_error_of(Step::DefaultPrinter, None));
    }
    let end = buffer.iter().position(|&c| c == 0).unwrap_or(buffer.len());
    let name = String::from_utf16_lossy(&buffer[..end]);
    if name.is_empty() {
        return Err(PrintError::NoDefaultPrinter(
            "GetDefaultPrinterW returned an empty name".into(),
        ));
    }
    Ok(name)
}

/// Refuses a printer that does not exist, or that is offline or paused (a job would only wait
/// in its queue). A printer whose state cannot be read is tried all the same.
fn check_ready(name: &str, wide_name: &[u16]) -> Result<(), PrintError> {
    let mut handle = PRINTER_HANDLE::default();
    // SAFETY: `wide_name` is NUL-terminated; default access (null) is enough to read the state.
    if unsafe { OpenPrinterW(wide_name.as_ptr(), &mut handle, null()) } == 0 {
        return Err(last_error(Step::OpenPrinter, name));
    }
    let printer = Printer(handle);
    let mut status = PRINTER_INFO_6::default();
    let mut needed = 0u32;
    // SAFETY: level 6 is one u32 (`PRINTER_INFO_6`), and `status` is that big.
    let status_ok = unsafe {
        GetPrinterW(
            printer.0,
            6,
            (&mut status as *mut PRINTER_INFO_6).cast(),
            std::mem::size_of::<PRINTER_INFO_6>() as u32,
            &mut needed,
        )
    } != 0;
    let attributes = printer_attributes(&printer);
    if !status_ok && attributes.is_none() {
        tracing::debug!(
            printer = name,
            "printer state not readable; printing anyway"
        );
    }
    let status = if status_ok { status.dwStatus } else { 0 };
    match refuse_offline(name, status, attributes.unwrap_or(0)) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// `PRINTER_INFO_4W::Attributes`, or `None` when it cannot be read.
fn printer_attributes(printer: &Printer) -> Option<u32> {
    let mut needed = 0u32;
    // SAFETY: a null buffer of size 0 asks for the size needed.
    unsafe { GetPrinterW(printer.0, 4, null_mut(), 0, &mut needed) };
    let size = std::mem::size_of::<PRINTER_INFO_4W>();
    if (needed as usize) < size || needed > 64 * 1024 {
        return None;
    }
    // u64s: aligned for the pointers in PRINTER_INFO_4W.
    let mut buffer = vec![0u64; (needed as usize).div_ceil(8)];
    // SAFETY: `buffer` holds at least `needed` bytes.
    let ok = unsafe {
        GetPrinterW(
            printer.0,
            4,
            buffer.as_mut_ptr().cast(),
            needed,
            &mut needed,
        )
    };
    if ok == 0 {
        return None;
    }
    // SAFETY: the call filled a PRINTER_INFO_4W at the start of the (8-aligned) buffer, which
    // is at least that big.
    let info = unsafe { std::ptr::read(buffer.as_ptr().cast::<PRINTER_INFO_4W>()) };
    Some(info.Attributes)
}

/// An open printer, closed on drop.
struct Printer(PRINTER_HANDLE);

impl Drop for Printer {
    fn drop(&mut self) {
        // SAFETY: the handle came from a successful OpenPrinterW and is closed once.
        unsafe { ClosePrinter(self.0) };
    }
}

/// A printer device context, deleted on drop.
struct Dc(HDC);

impl Dc {
    fn caps(&self, index: u32) -> i32 {
        // SAFETY: a live DC; an unknown index returns 0.
        unsafe { GetDeviceCaps(self.0, index as i32) }
    }

    fn geometry(&self) -> DeviceGeometry {
        DeviceGeometry {
            dpi_x: self.caps(LOGPIXELSX),
            dpi_y: self.caps(LOGPIXELSY),
            printable_width: self.caps(HORZRES),
            printable_height: self.caps(VERTRES),
            sheet_width: self.caps(PHYSICALWIDTH),
            sheet_height: self.caps(PHYSICALHEIGHT),
            offset_x: self.caps(PHYSICALOFFSETX),
            offset_y: self.caps(PHYSICALOFFSETY),
        }
    }
}

impl Drop for Dc {
    fn drop(&mut self) {
        // SAFETY: the DC came from a successful CreateDCW and is deleted once.
        unsafe { DeleteDC(self.0) };
    }
}

/// A started document, aborted on drop unless it was ended.
struct Job<'a> {
    dc: &'a Dc,
    done: bool,
}

impl Drop for Job<'_> {
    fn drop(&mut self) {
        if !self.done {
            // SAFETY: a live DC with a started document.
            unsafe { AbortDoc(self.dc.0) };
        }
    }
}

/// `text` as a NUL-terminated UTF-16 string; `None` when it contains NUL.
fn wide(text: &str) -> Option<Vec<u16>> {
    if text.contains('\0') {
        return None;
    }
    Some(text.encode_utf16().chain(std::iter::once(0)).collect())
}

fn last_error(step: Step, printer: &str) -> PrintError {
    last_error_of(step, Some(printer))
}

fn last_error_of(step: Step, printer: Option<&str>) -> PrintError {
    // SAFETY: reads the calling thread's last error.
    let code = unsafe { GetLastError() };
    failure(step, printer, code)
}

fn failure(step: Step, printer: Option<&str>, code: u32) -> PrintError {
    // The system's own text for the code (FormatMessageW through std).
    let message = if code == 0 {
        String::new()
    } else {
        std::io::Error::from_raw_os_error(code as i32).to_string()
    };
    win32_failure(step, printer, code, &message)
}
