//! Branding values that end up inside the sign-in pages' CSS and links: colours, the font family,
//! and URLs. Each is parsed into a type whose text is safe in its context (no `;`, braces, `<`,
//! `&` or quotes out of place), so a value cannot close the declaration it sits in.

use crate::web_url::WebUrl;

/// Why a branding value is refused; the text completes "<field> ".
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BrandingProblem {
    #[error("must be a CSS color: #rgb, #rrggbb, #rrggbbaa, rgb()/rgba()/hsl()/hsla() with numbers, or a color name such as teal")]
    Color,
    #[error("may hold only letters, digits, spaces, commas, hyphens and balanced quotes, such as \"Open Sans\", sans-serif")]
    FontFamily,
    #[error("must be an https URL (http only for localhost) without credentials")]
    Url,
}

/// A CSS colour value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CssColor(String);

/// A CSS `font-family` list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontFamily(String);

/// A URL a page links to or loads from: `https:`, or `http:` to a loopback host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrandingUrl(String);

/// The CSS named colours (CSS Color 4), `transparent` and `currentcolor`.
const NAMED_COLORS: &[&str] = &[
    "aliceblue",
    "antiquewhite",
    "aqua",
    "aquamarine",
    "azure",
    "beige",
    "bisque",
    "black",
    "blanchedalmond",
    "blue",
    "blueviolet",
    "brown",
    "burlywood",
    "cadetblue",
    "chartreuse",
    "chocolate",
    "coral",
    "cornflowerblue",
    "cornsilk",
    "crimson",
    "cyan",
    "darkblue",
    "darkcyan",
    "darkgoldenrod",
    "darkgray",
    "darkgreen",
    "darkgrey",
    "darkkhaki",
    "darkmagenta",
    "darkolivegreen",
    "darkorange",
    "darkorchid",
    "darkred",
    "darksalmon",
    "darkseagreen",
    "darkslateblue",
    "darkslategray",
    "darkslategrey",
    "darkturquoise",
    "darkviolet",
    "deeppink",
    "deepskyblue",
    "dimgray",
    "dimgrey",
    "dodgerblue",
    "firebrick",
    "floralwhite",
    "forestgreen",
    "fuchsia",
    "gainsboro",
    "ghostwhite",
    "gold",
    "goldenrod",
    "gray",
    "green",
    "greenyellow",
    "grey",
    "honeydew",
    "hotpink",
    "indianred",
    "indigo",
    "ivory",
    "khaki",
    "lavender",
    "lavenderblush",
    "lawngreen",
    "lemonchiffon",
    "lightblue",
    "lightcoral",
    "lightcyan",
    "lightgoldenrodyellow",
    "lightgray",
    "lightgreen",
    "lightgrey",
    "lightpink",
    "lightsalmon",
    "lightseagreen",
    "lightskyblue",
    "lightslategray",
    "lightslategrey",
    "lightsteelblue",
    "lightyellow",
    "lime",
    "limegreen",
    "linen",
    "magenta",
    "maroon",
    "mediumaquamarine",
    "mediumblue",
    "mediumorchid",
    "mediumpurple",
    "mediumseagreen",
    "mediumslateblue",
    "mediumspringgreen",
    "mediumturquoise",
    "mediumvioletred",
    "midnightblue",
    "mintcream",
    "mistyrose",
    "moccasin",
    "navajowhite",
    "navy",
    "oldlace",
    "olive",
    "olivedrab",
    "orange",
    "orangered",
    "orchid",
    "palegoldenrod",
    "palegreen",
    "paleturquoise",
    "palevioletred",
    "papayawhip",
    "peachpuff",
    "peru",
    "pink",
    "plum",
    "powderblue",
    "purple",
    "rebeccapurple",
    "red",
    "rosybrown",
    "royalblue",
    "saddlebrown",
    "salmon",
    "sandybrown",
    "seagreen",
    "seashell",
    "sienna",
    "silver",
    "skyblue",
    "slateblue",
    "slategray",
    "slategrey",
    "snow",
    "springgreen",
    "steelblue",
    "tan",
    "teal",
    "thistle",
    "tomato",
    "turquoise",
    "violet",
    "wheat",
    "white",
    "whitesmoke",
    "yellow",
    "yellowgreen",
    "transparent",
    "currentcolor",
];

/// A number with an optional unit from `units` (`12`, `-4.5`, `50%`, `120deg`).
fn is_number(token: &str, units: &[&str]) -> bool {
    let digits = units
        .iter()
        .find_map(|u| token.strip_suffix(u))
        .unwrap_or(token);
    let digits = digits.strip_prefix(['-', '+']).unwrap_or(digits);
    !digits.is_empty()
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// `rgb(…)`, `rgba(…)`, `hsl(…)`, `hsla(…)`: three numbers and an optional alpha, separated by
/// commas or spaces (an alpha may follow `/`).
fn is_color_function(value: &str) -> bool {
    let Some((name, args)) = value.split_once('(') else {
        return false;
    };
    let Some(args) = args.strip_suffix(')') else {
        return false;
    };
    let first_units: &[&str] = match name {
        "rgb" | "rgba" => &["%"],
        "hsl" | "hsla" => &["deg", "turn", "grad", "rad"],
        _ => return false,
    };
    let tokens: Vec<&str> = args
        .split([',', ' ', '/'])
        .filter(|t| !t.is_empty())
        .collect();
    (3..=4).contains(&tokens.len())
        && tokens.iter().enumerate().all(|(i, t)| {
            if i == 0 {
                is_number(t, first_units)
            } else {
                is_number(t, &["%"])
            }
        })
}

impl CssColor {
    pub fn parse(value: &str) -> Result<Self, BrandingProblem> {
        let value = value.trim().to_ascii_lowercase();
        let ok = match value.strip_prefix('#') {
            Some(hex) => {
                matches!(hex.len(), 3 | 4 | 6 | 8) && hex.chars().all(|c| c.is_ascii_hexdigit())
            }
            None => NAMED_COLORS.contains(&value.as_str()) || is_color_function(&value),
        };
        if ok {
            Ok(Self(value))
        } else {
            Err(BrandingProblem::Color)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FontFamily {
    pub fn parse(value: &str) -> Result<Self, BrandingProblem> {
        let value = value.trim();
        let mut open_quote: Option<char> = None;
        for c in value.chars() {
            match c {
                '"' | '\'' if open_quote == Some(c) => open_quote = None,
                '"' | '\'' if open_quote.is_none() => open_quote = Some(c),
                '"' | '\'' => return Err(BrandingProblem::FontFamily),
                c if c.is_alphanumeric() || matches!(c, ' ' | ',' | '-') => {}
                _ => return Err(BrandingProblem::FontFamily),
            }
        }
        if open_quote.is_some() || !value.chars().any(char::is_alphabetic) {
            return Err(BrandingProblem::FontFamily);
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl BrandingUrl {
    pub fn parse(value: &str) -> Result<Self, BrandingProblem> {
        let value = value.trim();
        match WebUrl::parse(value) {
            Some(url) if url.is_web_url(false) => Ok(Self(value.to_owned())),
            _ => Err(BrandingProblem::Url),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `https://host[:port]`, for the page's Content-Security-Policy.
    pub fn origin(&self) -> String {
        WebUrl::parse(&self.0)
            .map(|u| u.origin())
            .unwrap_or_default()
    }

    /// The host, lower-cased.
    pub fn host(&self) -> String {
        WebUrl::parse(&self.0).map(|u| u.host).unwrap_or_default()
    }
}

/// Whether a font stylesheet may come from `url`'s host: the server's own `font_url` host or one
/// of `font_hosts`. Any other stylesheet could restyle (and read, through selectors) the form.
pub fn font_host_allowed(url: &BrandingUrl, server_font_url: &str, font_hosts: &[String]) -> bool {
    let host = url.host();
    font_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host))
        || BrandingUrl::parse(server_font_url).is_ok_and(|server| server.host() == host)
}

/// `value` when it is a valid colour: a stored value from before these rules renders only if it
/// would be accepted today.
pub fn safe_color(value: &str) -> Option<&str> {
    CssColor::parse(value).is_ok().then_some(value.trim())
}

/// `value` when it is a valid font family.
pub fn safe_font_family(value: &str) -> Option<&str> {
    FontFamily::parse(value).is_ok().then_some(value.trim())
}

/// `value` when it is a valid branding URL.
pub fn safe_url(value: &str) -> Option<&str> {
    BrandingUrl::parse(value).is_ok().then_some(value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_colors_are_accepted_in_their_usual_forms() {
        for good in [
            "#fff",
            "#FFFA",
            "#f4f6f8",
            "#11223344",
            "teal",
            "Transparent",
            "rgb(255, 0, 0)",
            "rgba(0,0,0,.5)",
            "rgb(10% 20% 30% / 50%)",
            "hsl(120deg 50% 50%)",
            "hsla(120, 50%, 50%, 0.3)",
        ] {
            assert!(CssColor::parse(good).is_ok(), "{good}");
        }
        assert_eq!(CssColor::parse(" #ABC ").unwrap().as_str(), "#abc");
    }

    #[test]
    fn css_injections_are_not_colors() {
        for bad in [
            "red}*{display:none}",
            "red;background:url(//attacker.example/c)",
            "#ff",
            "#ggg",
            "rgb(1,2)",
            "rgb(1,2,3,4,5)",
            "rgb(1,2,3))",
            "rgb(a,b,c)",
            "rgb(1,2,3);x:y",
            "url(//attacker.example/c)",
            "expression(alert(1))",
            "var(--x)",
            "red</style><script>",
            "",
            "notacolor",
        ] {
            assert_eq!(CssColor::parse(bad), Err(BrandingProblem::Color), "{bad}");
        }
    }

    #[test]
    fn font_families_are_names_and_balanced_quotes() {
        for good in [
            "system-ui, sans-serif",
            "\"Open Sans\", Arial, sans-serif",
            "'Noto Sans SC', sans-serif",
            "微软雅黑",
            "Roboto2",
        ] {
            assert!(FontFamily::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "x}body{background:url(//attacker.example/c)",
            "Arial;color:red",
            "\"Open Sans",
            "'Open Sans\"",
            "Arial</style>",
            "a\\22",
            "Arial & co",
            "",
            "  ",
            "\"\"",
        ] {
            assert_eq!(
                FontFamily::parse(bad),
                Err(BrandingProblem::FontFamily),
                "{bad}"
            );
        }
    }

    #[test]
    fn stored_values_render_only_when_valid_today() {
        assert_eq!(safe_color(" #abc "), Some("#abc"));
        assert_eq!(safe_color("red}*{display:none}"), None);
        assert_eq!(safe_font_family("x}body{x"), None);
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("https://a.example/t"), Some("https://a.example/t"));
    }

    #[test]
    fn branding_urls_are_https_or_loopback_http() {
        let url = BrandingUrl::parse("https://Fonts.Googleapis.com/css2?family=Inter").unwrap();
        assert_eq!(url.origin(), "https://fonts.googleapis.com");
        assert_eq!(url.host(), "fonts.googleapis.com");
        assert!(BrandingUrl::parse("http://127.0.0.1:9/terms").is_ok());
        for bad in [
            "javascript:alert(1)",
            "data:text/css,body{}",
            "http://attacker.example/font.css",
            "//attacker.example/font.css",
            "https://u:p@a.example/",
            "https://a.example/\"onmouseover=x",
            "",
        ] {
            assert_eq!(BrandingUrl::parse(bad), Err(BrandingProblem::Url), "{bad}");
        }
    }
}
