//! Result and error codes of the contract. All are **placeholders** (`PH…`): the real codes
//! are not public, and the prefix keeps anyone from mistaking these for real ones.

/// A code with its Japanese message, exactly as the contract's tables give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// `PH…`.
    pub code: &'static str,
    /// The Japanese message sent with it.
    pub message: &'static str,
}

/// Note: certificate expired, within grace; qualification only, no medical information.
pub const PH0101: Code = Code {
    code: "PH0101",
    message: "電子証明書の有効期限が切れています(猶予期間中)。資格情報のみ提供します。",
};
/// Note: the certificate expires within 3 months.
pub const PH0102: Code = Code {
    code: "PH0102",
    message: "電子証明書の有効期限が3か月以内です。",
};
/// Card not registered for insurance use (利用登録なし).
pub const PH1001: Code = Code {
    code: "PH1001",
    message: "健康保険証としての利用登録がされていません。",
};
/// Registration cancelled (利用登録解除).
pub const PH1002: Code = Code {
    code: "PH1002",
    message: "健康保険証としての利用登録が解除されています。",
};
/// Card returned (返納).
pub const PH1003: Code = Code {
    code: "PH1003",
    message: "このマイナンバーカードは返納されています。",
};
/// Certificate revoked (失効).
pub const PH1004: Code = Code {
    code: "PH1004",
    message: "電子証明書が失効しています。",
};
/// Certificate expired beyond grace.
pub const PH1005: Code = Code {
    code: "PH1005",
    message: "電子証明書の有効期限が切れています。資格確認書等で確認してください。",
};
/// System error (`SegmentOfResult` 9).
pub const PH9001: Code = Code {
    code: "PH9001",
    message: "システムエラーが発生しました。時間をおいて再度照会してください。",
};

/// 400: invalid JSON, missing element or bad format (the element is named in `Detail`).
pub const PH4000: Code = Code {
    code: "PH4000",
    message: "要求電文の形式が正しくありません。",
};
/// 401: no token, or a token unknown, expired or issued to another facility certificate.
pub const PH4010: Code = Code {
    code: "PH4010",
    message: "認証の有効期限が切れたか、認証されていません。再度ログインしてください。",
};
/// 403: the certificate was not issued by a configured JPKI CA.
pub const PH4030: Code = Code {
    code: "PH4030",
    message: "利用者証明用電子証明書を確認できません。",
};
/// 403: bad or missing signature.
pub const PH4031: Code = Code {
    code: "PH4031",
    message: "署名を検証できません。",
};
/// 403: unknown, expired or reused challenge.
pub const PH4032: Code = Code {
    code: "PH4032",
    message: "チャレンジが無効です。最初からやり直してください。",
};
/// 404: no such endpoint.
pub const PH4040: Code = Code {
    code: "PH4040",
    message: "指定されたURLは存在しません。",
};
/// 405: method not allowed.
pub const PH4050: Code = Code {
    code: "PH4050",
    message: "このメソッドは使用できません。",
};
/// 413: body over 64 KiB.
pub const PH4130: Code = Code {
    code: "PH4130",
    message: "要求電文が大きすぎます。",
};
