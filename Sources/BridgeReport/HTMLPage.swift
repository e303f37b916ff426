/// Escapes text for HTML element content and attribute values.
func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.utf8.count)
    for character in text.unicodeScalars {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&#39;"
        default: out.unicodeScalars.append(character)
        }
    }
    return out
}

/// A self-contained HTML document with the bridge's stylesheet inline.
struct HTMLPage {
    private var body = ""
    private let title: String
    /// Rules a page adds to the shared stylesheet.
    private let style: String

    init(title: String, style: String = "") {
        self.title = title
        self.style = style
    }

    mutating func raw(_ html: String) { body += html }

    var finished: String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem;color:#0b0c0c;max-width:80rem}
        h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:2px solid #b1b4b6}
        table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #b1b4b6;padding:.3rem .5rem;text-align:left;vertical-align:top}
        th{background:#f3f2f1}tr.warning td{background:#fff7e6}tr.error td:nth-child(2){color:#d4351c}
        .verdict{display:inline-block;padding:.2rem .6rem;font-weight:bold;color:#fff}.ok{background:#00703c}.partial{background:#f47738;color:#0b0c0c}.refused{background:#d4351c}
        .refusal{border-left:6px solid #d4351c;padding-left:1rem}.counts td{font-size:1.4rem;font-weight:bold}
        code{font-family:ui-monospace,Menlo,Consolas,monospace;background:#f3f2f1;padding:0 .2rem}small{color:#505a5f}footer{margin-top:2rem;color:#505a5f;font-size:.85rem}
        \(style)
        </style></head><body>
        \(body)
        </body></html>

        """
    }
}
