package oauth

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strings"

	"github.com/pquerna/otp"

	"kartehub/internal/account"
)

// pageStyle is the only style of the pages. The Content-Security-Policy
// allows exactly this text, by its hash, and nothing else: no scripts, no
// external assets.
const pageStyle = `
body{font-family:system-ui,"Hiragino Sans","Yu Gothic",sans-serif;background:#f4f6f8;color:#1d2733;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
h1{font-size:1.3rem;margin:0 0 1rem}h2{font-size:1.05rem;margin:0 0 1rem}
label{display:block;margin:.8rem 0 .2rem;font-size:.9rem}
input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #9aa5b1;border-radius:4px}
button{margin-top:1.2rem;width:100%;padding:.6rem;font-size:1rem;background:#1f5fa8;color:#fff;border:0;border-radius:4px}
.error{background:#fde8e8;color:#8a1c1c;padding:.6rem;border-radius:4px}
.notice{background:#e6f4ea;color:#1e5631;padding:.6rem;border-radius:4px}
.app,.hint{font-size:.85rem;color:#52606d}code{word-break:break-all;font-size:.85rem}
img{display:block;margin:1rem auto}ul{padding-left:1.2rem;font-size:.85rem}
`

var styleHash = func() string {
	sum := sha256.Sum256([]byte(pageStyle))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

var pages = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{.Title}} - kartehub</title>
<style>` + pageStyle + `</style>
</head>
<body>
<main>
<h1>kartehub</h1>
<h2>{{.Title}}</h2>
{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
{{with .Notice}}<p class="notice" role="status">{{.}}</p>{{end}}
{{with .Text}}<p>{{.}}</p>{{end}}
{{if .Step}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="step" value="{{.Step}}">
<input type="hidden" name="request" value="{{.Request}}">
<input type="hidden" name="csrf" value="{{.CSRF}}">
{{if eq .Step "login"}}
<p class="app">{{.App}} がアクセスを求めています / {{.App}} asks for access:</p>
<ul>{{range .Scopes}}<li><code>{{.}}</code></li>{{end}}</ul>
<label for="login">ログイン名 / Login name</label>
<input id="login" name="login" value="{{.Login}}" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">パスワード / Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="code">確認コード (認証アプリ) / Code from your authenticator app</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="7">
{{if .Patient}}<label for="patient">患者ID (任意) / Patient id (optional)</label>
<input id="patient" name="patient" autocomplete="off">{{end}}
<button type="submit">ログイン / Log in</button>
{{else if eq .Step "password"}}
<p class="hint">{{.Policy.MinLength}}文字以上で、英大文字・英小文字・数字・記号のうち{{.Policy.MinKinds}}種類以上を含めてください。 /
At least {{.Policy.MinLength}} characters, mixing {{.Policy.MinKinds}} of: upper-case letters, lower-case letters, digits, symbols.</p>
<label for="new_password">新しいパスワード / New password</label>
<input id="new_password" name="new_password" type="password" autocomplete="new-password" required autofocus>
<label for="confirm_password">新しいパスワード (確認) / New password again</label>
<input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required>
<button type="submit">パスワードを変更 / Change the password</button>
{{else if eq .Step "totp"}}
<p class="hint">認証アプリ (Google Authenticator など) でこのQRコードを読み取るか、秘密鍵を入力してください。 /
Scan this QR code with your authenticator app (such as Google Authenticator), or type in the secret.</p>
{{with .QR}}<img src="{{.}}" width="200" height="200" alt="QR code">{{end}}
<p class="hint">秘密鍵 / Secret: <code>{{.Secret}}</code></p>
<label for="code">アプリに表示された確認コード / The code the app shows</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="7" required autofocus>
<button type="submit">登録 / Enrol</button>
{{end}}
</form>
{{end}}
</main>
</body>
</html>
`))

// pageData is what a page shows.
type pageData struct {
	Title, Error, Notice, Text string
	// The form of a login step.
	Step, Action, Request, CSRF string
	App                         string
	Scopes                      []string
	Login                       string
	Patient                     bool
	Policy                      account.Policy
	Secret                      string
	QR                          template.URL // a data: URL of a PNG
}

// msg is a message page's title and text, in Japanese and English.
type msg struct{ title, text string }

// The messages of the pages.
var (
	msgBadForm          = msg{"無効な要求 / Bad request", "フォームを読み取れません。 / The form cannot be read."}
	msgUnknownApp       = msg{"無効な要求 / Bad request", "このアプリ (client_id) は登録されていません。 / This app (client_id) is not registered on this server."}
	msgBadRedirect      = msg{"無効な要求 / Bad request", "redirect_uri がこのアプリに登録されたものと一致しません。 / The redirect_uri is not one registered for this app."}
	msgBusy             = msg{"混雑しています / Busy", "しばらくしてからもう一度お試しください。 / Too many logins are in progress: try again shortly."}
	msgExpired          = msg{"期限切れ / Expired", "このログインは期限切れです。アプリからやり直してください。 / This login has expired: start again from the app."}
	msgForeignForm      = msg{"無効なフォーム / Form refused", "このフォームはこのブラウザのログインのものではありません。アプリからやり直してください。 / This form does not belong to a login of this browser: start again from the app."}
	msgTooManyPosts     = msg{"試行回数超過 / Too many attempts", "アプリからやり直してください。 / Start again from the app."}
	msgLoginUnavailable = msg{"ログインできません / Login unavailable", "現在ログインできません。しばらくしてからお試しください。 / Logging in is not possible now: try again later."}
	msgLoggedOut        = msg{"ログアウトしました / Logged out", "セッションを終了しました。 / Your session has ended."}
	msgBadLogoutTarget  = msg{"ログアウトしました / Logged out", "セッションを終了しましたが、post_logout_redirect_uri はこのアプリに登録されていません。 / Your session has ended, but the post_logout_redirect_uri is not registered for this app."}
)

// The messages shown within a login step.
const (
	msgLoginFailed     = "ログインできませんでした。ログイン名・パスワード・確認コードを確認してください。 / Login failed: wrong login name, password or code, or the account cannot log in now."
	msgBadPatient      = "患者IDの形式が正しくありません。 / The patient id is not a valid id."
	msgNeedPatient     = "このアプリを使うには患者IDが必要です。 / This app needs a patient: enter the patient id."
	msgPasswordsDiffer = "2つのパスワードが一致しません。 / The two passwords differ."
	msgPasswordRefused = "このパスワードは使えません。 / This password is refused:"
	msgPasswordChanged = "パスワードを変更しました。新しいパスワードでログインしてください。 / Password changed: log in with the new password."
	msgBadCode         = "確認コードが一致しません。アプリに今表示されているコードを入力し、端末の時刻を確認してください。 / The code does not match: type the code the app shows now, and check the phone's clock."
	msgEnrolled        = "認証アプリを登録しました。パスワードと新しい確認コードでログインしてください。 / Authenticator enrolled: log in with your password and a new code."
)

var stepTitles = map[string]string{
	stepLogin:    "ログイン / Log in",
	stepPassword: "パスワードの変更 / Change your password",
	stepTOTP:     "認証アプリの登録 / Enrol an authenticator",
}

// showStep shows the page of the login's current step.
func (p *Provider) showStep(w http.ResponseWriter, req *authRequest, errMsg, notice string) {
	d := pageData{
		Title: stepTitles[req.step], Error: errMsg, Notice: notice,
		Step: req.step, Action: p.path.authorize, Request: req.id, CSRF: req.csrf,
		App: req.app.Name, Login: req.lastName, Patient: req.wantsPatient(),
		Policy: p.accounts.Policy(),
	}
	for _, s := range req.scope {
		d.Scopes = append(d.Scopes, s.Raw)
	}
	if req.enrol != nil {
		d.Secret, d.QR = req.enrol.Secret, qrCode(req.enrol.URL)
	}
	p.writePage(w, http.StatusOK, d, formTarget(req.redirectURI))
}

// errorPage shows a message page.
func (p *Provider) errorPage(w http.ResponseWriter, status int, m msg) {
	p.writePage(w, status, pageData{Title: m.title, Text: m.text}, "")
}

// writePage writes a page with headers that keep it out of caches and
// frames and forbid everything but its own style and forms.
func (p *Provider) writePage(w http.ResponseWriter, status int, d pageData, target string) {
	var buf bytes.Buffer
	if err := pages.Execute(&buf, d); err != nil {
		p.log.Error("oauth: page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	noStore(w)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// form-action must also allow the app's origin: browsers apply it to
	// the redirect that follows the login form.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+styleHash+"; img-src data:; "+
		"form-action 'self'"+target+"; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// formTarget is the CSP source of a redirect URI, with a leading space:
// its origin, or its scheme for a private-use scheme.
func formTarget(redirect string) string {
	u, err := url.Parse(redirect)
	if err != nil || strings.ContainsAny(redirect, " ;,'\"") {
		return ""
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return " " + u.Scheme + "://" + u.Host
	}
	return " " + u.Scheme + ":"
}

// qrCode returns the otpauth URL as a QR code, a PNG data: URL; "" if it
// cannot be made (the secret is shown as text anyway).
func qrCode(otpauth string) template.URL {
	key, err := otp.NewKeyFromURL(otpauth)
	if err != nil {
		return ""
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return ""
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return ""
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
}
