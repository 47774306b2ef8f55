//! The redaction corpus: real shell lines, config lines, notes and mail subjects holding
//! secrets in the formats of gitleaks' rules and in the shapes the host's own rules cover
//! (`.netrc` entries, basic authorization headers, Discord webhooks, PINs and one-time
//! codes, CLI password arguments, passwords said in prose; values are random, never live),
//! and text that holds none: prose about passwords, PINs and codes, commit hashes, UUIDs,
//! base64 images, paths, ordinary commands. Every positive is redacted; the negatives that
//! change are counted (the false-positive rate in BENCHMARKS.md).

use std::borrow::Cow;

use openclone_vault::redact::redact;

/// (text, the secret that must not survive, the text that must survive when a name is kept)
const POSITIVES: &[(&str, &str, &str)] = &[
    (
        "export DB_PASSWORD=hunter2",
        "hunter2",
        "DB_PASSWORD=[REDACTED:password]",
    ),
    (
        "mysql -u root -phunter3 shop",
        "hunter3",
        "-p[REDACTED:password]",
    ),
    (
        "curl https://bob:hunter4@example.com/x",
        "hunter4",
        "https://bob:[REDACTED:url_password]@example.com/x",
    ),
    (
        "export GITHUB_TOKEN=ghp_u8jzPde0IgxLd6GncfBAepfJBd0Kh8oOOL8d",
        "u8jzPde0IgxLd6Gncf",
        "GITHUB_TOKEN=",
    ),
    (
        "git clone https://gho_KLzdocJ2isAjIhKtJ0RlgLKOmxgJTeKdNnFR@github.com/me/repo",
        "KLzdocJ2isAjIhKtJ0Rl",
        "github.com/me/repo",
    ),
    (
        "gh auth login --with-token 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",
        "IBXuDL7DxtpYlSXpfKtHF4",
        "gh auth login",
    ),
    (
        "aws configure set aws_access_key_id AKIAB3WKH5DNSIPZZ5FK",
        "AKIAB3WKH5DNSIPZZ5FK",
        "aws configure set",
    ),
    (
        "aws_secret_access_key = 5ZJr3J1TWDtkwtDDb/xHKas1VOqg6YYZYn9ZhyiA",
        "5ZJr3J1TWDtkwtDDb",
        "aws_secret_access_key",
    ),
    (
        "SLACK_BOT_TOKEN=xoxb-721590109281-590139624595-Ehh2FDEEtfjgVvVqE1SkHbn8",
        "Ehh2FDEEtfjgVvVqE1Sk",
        "SLACK_BOT_TOKEN=",
    ),
    (
        "slack user token xoxp-852808414852-538885393363-387500474395-855c1d190409a95cd609f74c686cffea",
        "855c1d190409a95cd609",
        "slack user token",
    ),
    (
        "stripe.api_key = 'sk_live_jL5DZPjN0MEQ7wjJJibaZUPg'",
        "jL5DZPjN0MEQ7wjJJiba",
        "stripe.api_key",
    ),
    (
        "restricted key rk_live_HV7iB3m03nbqnsGpWLuqIA1i for the shop",
        "HV7iB3m03nbqnsGpWLuq",
        "for the shop",
    ),
    (
        "maps key AIzahT61qtc4xatws8phP9nhFyJfm5di4PzJ59F in the app",
        "hT61qtc4xatws8phP9nh",
        "in the app",
    ),
    (
        "git push https://oauth2:glpat-Hz5r1pY4OjE2jBMptUsG@gitlab.com/x.git",
        "Hz5r1pY4OjE2jBMptUsG",
        "gitlab.com/x.git",
    ),
    (
        "//registry.npmjs.org/:_authToken=npm_4i9DoV8gz4FkQ1okTBGzvAmwufUxbvJDCTby",
        "4i9DoV8gz4FkQ1okTBGz",
        "registry.npmjs.org",
    ),
    (
        "OPENAI_API_KEY=sk-proj-vHNsG9eh6Yo4gfqrc5XlrWi0B26R08qzjI6GKFSufrdZSlB5",
        "vHNsG9eh6Yo4gfqrc5Xl",
        "OPENAI_API_KEY=",
    ),
    (
        "ANTHROPIC_API_KEY=sk-ant-api03-jIclHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3-YNBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBTxaQWk8JzFalAA",
        "jIclHkCiHp6bR1IqfEou",
        "ANTHROPIC_API_KEY=",
    ),
    (
        "sendgrid 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",
        "TY4MyWuUFjsUNPjc01T5",
        "sendgrid",
    ),
    (
        "shopify 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",
        "1cabe5d68ba192a8ccc9",
        "shopify",
    ),
    (
        "doctl auth init -t dop_v1_b0ce423ea9b92d0933888d03c9a38c82600cce25e2d51996afa9863e7564d4a4",
        "b0ce423ea9b92d0933888d03",
        "doctl auth init",
    ),
    (
        "huggingface-cli login --token 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",
        "WvzhmTaVsqxezyLexBWr",
        "huggingface-cli login",
    ),
    (
        "twine upload -p pypi-AgEIcHlwaS5vcmcV2dZAkg05rK_gqv81RKMGHZEM9YpvujA-C5Q52ryFlwRlOEVHzc0X0AWIRh-JUqBlIFXZ5 dist/*",
        "V2dZAkg05rK_gqv81RKM",
        "twine upload",
    ),
    (
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=B9t2039bicBTW5ZE9LFaez7770H2DCpYgojjHRg80USP2W5DfJXcaYioK6cPTt9iOqHOBSWhgetH8LmyqoYMaa==;EndpointSuffix=core.windows.net",
        "B9t2039bicBTW5ZE9LFa",
        "AccountName=acme",
    ),
    (
        "databricks token dapi0903018123d9f197be6b0ae7bbf684dc",
        "0903018123d9f197be6b",
        "databricks token",
    ),
    (
        "LINEAR_API_KEY=lin_api_7kvmlP7HVDctQUy1xvCkgafrfwA94hJ9WnywX0t0",
        "7kvmlP7HVDctQUy1xvCk",
        "LINEAR_API_KEY=",
    ),
    (
        "SLACK_APP_TOKEN=xapp-1-1FD4MX82MUX-7063606071043-c4524b2423aca1d986279e9fa3e14485c06f17cb94f7dc2c0d798f1e781d3322",
        "c4524b2423aca1d98627",
        "SLACK_APP_TOKEN=",
    ),
    (
        "webhook https://hooks.slack.com/services/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",
        "pGHoPZgPDcgaE40o1C6x",
        "webhook",
    ),
    (
        "pscale auth --service-token pscale_tkn_YI0KN1gNT11cUzYZAa3u2olZU6uqbgsYlV-vsSKuvin",
        "YI0KN1gNT11cUzYZAa3u",
        "pscale auth",
    ),
    (
        "fb token EAACyFWZY9Zmti18c6EudM7Oyf5TNS05kOY2oNzN2m1ElKncz8HkywhjpU05mc4J1WRcQ1uhyMDJ2OXtPAtLpByQxCGClbaNFDpCWNX0",
        "yFWZY9Zmti18c6EudM7O",
        "fb token",
    ),
    (
        "Authorization: Bearer Zk8qT2mX9vL4pR7wN1cY6bH3jD5fG0aS",
        "Zk8qT2mX9vL4pR7wN1cY",
        "Authorization: Bearer",
    ),
    (
        "curl -H 'Authorization: Bearer ya29.6w8ZniqT3Ul4ffqkOkgWrdioyq_KvCiSGuPJ6sG9AHEOVezxZuJPWvHogU5n' https://api.example.com",
        "6w8ZniqT3Ul4ffqkOkgW",
        "https://api.example.com",
    ),
    (
        "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N",
        "token",
    ),
    (
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----",
        "MIIEowIBAAKCAQEAu1SU1LfV",
        "",
    ),
    (
        "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
        "b3BlbnNzaC1rZXktdjEAAAAA",
        "",
    ),
    (
        "psql postgres://app:Xq82!vLp@db.internal:5432/prod",
        "Xq82!vLp",
        "db.internal:5432/prod",
    ),
    (
        "mongosh mongodb+srv://admin:s3cr3tPass@cluster0.mongodb.net",
        "s3cr3tPass",
        "cluster0.mongodb.net",
    ),
    (
        "redis-cli -u redis://:p4ssw0rdz@localhost:6379",
        "p4ssw0rdz",
        "localhost:6379",
    ),
    (
        "mysqldump -uroot -pS3cure!Pw shop > dump.sql",
        "S3cure!Pw",
        "> dump.sql",
    ),
    (
        "mysql --password=tr0ub4dor -h db",
        "tr0ub4dor",
        "--password=",
    ),
    (
        "pg_dump --password hunter5 mydb",
        "hunter5",
        "pg_dump --password",
    ),
    (
        "sshpass -p 'wintermute' ssh pi@raspberrypi",
        "wintermute",
        "ssh pi@raspberrypi",
    ),
    (
        "export MY_APP_SECRET=\"correct horse battery\"",
        "correct horse battery",
        "MY_APP_SECRET=",
    ),
    (
        "set -x API_KEY 9f8e7d6c5b4a39281706",
        "9f8e7d6c5b4a39281706",
        "API_KEY",
    ),
    (
        "password: hunter6",
        "hunter6",
        "password: [REDACTED:password]",
    ),
    ("Password = \"Summer2024!\"", "Summer2024!", "Password ="),
    ("db_passwd: letmein99", "letmein99", "db_passwd:"),
    (
        "PGPASSWORD=pgpass123 psql -h localhost",
        "pgpass123",
        "psql -h localhost",
    ),
    (
        "access_token: 'atok-88213-xyz'",
        "atok-88213-xyz",
        "access_token:",
    ),
    (
        "client_secret=Hj3kL9mN2pQ7rS5t",
        "Hj3kL9mN2pQ7rS5t",
        "client_secret=",
    ),
    (
        "private_key=\"LS0tLS1CRUdJTiBQUklWQVRF\"",
        "LS0tLS1CRUdJTiBQUklWQVRF",
        "private_key=",
    ),
    (
        "heroku config:set SESSION_SECRET=a8f5f167f44f4964e6c998dee827110c",
        "a8f5f167f44f4964e6c998dee827110c",
        "SESSION_SECRET=",
    ),
    (
        "docker login -u me --password Dk7!mQ2zLp registry.example.com",
        "Dk7!mQ2zLp",
        "registry.example.com",
    ),
    (
        "AWS_SESSION_TOKEN=FwoGZXIvYXdzEJr//////////wEaDM2xK9",
        "FwoGZXIvYXdzEJr",
        "AWS_SESSION_TOKEN=",
    ),
    (
        "TF_VAR_db_password=Pl4netExpress",
        "Pl4netExpress",
        "TF_VAR_db_password=",
    ),
    (
        "npm config set //registry.npmjs.org/:_authToken 7c1e4a2b-9d3f-4e5a-8b6c-1d2e3f4a5b6c",
        "7c1e4a2b-9d3f-4e5a-8b6c",
        "npm config set",
    ),
    (
        "wget --password=Fr33dom! ftp://files.example.org/a.iso",
        "Fr33dom!",
        "ftp://files.example.org/a.iso",
    ),
    (
        "smtp://mailer:M41lPw@smtp.example.com:587",
        "M41lPw",
        "smtp.example.com:587",
    ),
    (
        "export VAULT_TOKEN=hvs.CAESIJ2xk8R7wQ1mN5pL3tZ9vY6bH4jD0fG",
        "CAESIJ2xk8R7wQ1mN5pL",
        "VAULT_TOKEN=",
    ),
    (
        "kubectl create secret generic db --from-literal=password=K8sS3cret",
        "K8sS3cret",
        "kubectl create secret generic db",
    ),
    (
        "htpasswd -b .htpasswd admin; export ADMIN_PWD=Adm1nPwd",
        "Adm1nPwd",
        "ADMIN_PWD=",
    ),
    (
        "GITLAB_TOKEN glptt-db00c5f82ad50b54eb02b0a475f3c0b99c7d6ecf",
        "db00c5f82ad50b54eb02",
        "GITLAB_TOKEN",
    ),
    (
        "sentry dsn https://38241911a73ba097c217519b47560a3c:9b2e7f1c@o1.ingest.sentry.io/1",
        "9b2e7f1c",
        "ingest.sentry.io/1",
    ),
    // .netrc entries, on one line and in the multi-line form.
    (
        "machine example.com login bob password s3cr3tNetrc",
        "s3cr3tNetrc",
        "machine example.com login bob password [REDACTED:password]",
    ),
    (
        "machine api.heroku.com\n  login ann@example.com\n  password Hk7pL2qW9zX\nmachine git.heroku.com",
        "Hk7pL2qW9zX",
        "machine git.heroku.com",
    ),
    (
        "echo 'machine ftp.example.org login anonymous password Gu3st!pw' >> ~/.netrc",
        "Gu3st!pw",
        "' >> ~/.netrc",
    ),
    (
        "default login anonymous password ann-at-example-org",
        "ann-at-example-org",
        "default login anonymous password [REDACTED:password]",
    ),
    // Basic credentials in any text, not only in a curl command.
    (
        "Authorization: Basic dXNlcjpwYXNzd29yZA==",
        "dXNlcjpwYXNzd29yZA",
        "Authorization: Basic [REDACTED:basic_auth]",
    ),
    (
        "GET /admin HTTP/1.1\nHost: intranet.local\nAuthorization: Basic YWRtaW46aHVudGVyMg==\nAccept: */*",
        "YWRtaW46aHVudGVyMg",
        "Accept: */*",
    ),
    (
        "the proxy wants Proxy-Authorization: basic Ym9iOnMzY3IzdA== on every call",
        "Ym9iOnMzY3IzdA",
        "on every call",
    ),
    (
        "http GET api.local 'Authorization:Basic YW5uOnBhc3N3b3JkMTIz'",
        "YW5uOnBhc3N3b3JkMTIz",
        "http GET api.local",
    ),
    // Discord webhooks (gitleaks has no rule for them).
    (
        "curl -X POST -d '{\"content\":\"deploy done\"}' https://discord.com/api/webhooks/1187426915031941120/UnJoK3c84mAd5RHnHPM61Zdxja_1zcky2hCc8rVnmsJlyYmR_w9fkufALHhM8k1148C_",
        "UnJoK3c84mAd5RHnHPM61Z",
        "https://discord.com/api/webhooks/1187426915031941120/[REDACTED:discord_webhook]",
    ),
    (
        "Webhook for #alerts: https://discordapp.com/api/webhooks/998877665544332211/PNM5K981nQcbOO4X7m_Ness-H98E05K4tZMbbEx4C2Qa_LzUSjP6zMAYRt_rH25LD8F2",
        "PNM5K981nQcbOO4X7m_Ness",
        "Webhook for #alerts:",
    ),
    (
        "DISCORD_WEBHOOK_URL=https://ptb.discord.com/api/v10/webhooks/1234567890123456789/fD24lefmjgdFkO4Wugw9mdjDIQCMg9-6tBthRKxhos-keA_-DKbg6uHSyJnPnTmU0aVd",
        "fD24lefmjgdFkO4Wugw9mdjD",
        "DISCORD_WEBHOOK_URL=",
    ),
    // Numeric secrets: PINs, one-time codes, digit-only passwords.
    ("pin: 493817", "493817", "pin: [REDACTED:pin]"),
    (
        "password=12345678",
        "12345678",
        "password=[REDACTED:password]",
    ),
    (
        "OTP 123456 expires in 10 minutes",
        "123456",
        "expires in 10 minutes",
    ),
    (
        "Subject: Your verification code is 482913",
        "482913",
        "Subject: Your verification code is",
    ),
    (
        "Your Discord login code: 731 904",
        "731 904",
        "Your Discord login code:",
    ),
    ("SIM PIN 0472, keep it safe", "0472", "keep it safe"),
    ("Bank card PIN is 9021", "9021", "Bank card PIN is"),
    ("TOTP code 004512 for the VPN", "004512", "for the VPN"),
    // Password arguments of more command-line clients.
    (
        "redis-cli -h cache.internal -a Rd1sP4ss! ping",
        "Rd1sP4ss!",
        "redis-cli -h cache.internal -a [REDACTED:password] ping",
    ),
    (
        "redis-cli --pass s3cretRedis --no-auth-warning INFO",
        "s3cretRedis",
        "--no-auth-warning INFO",
    ),
    (
        "mysql -uadmin -pSECRETmy1 -h db.example.com",
        "SECRETmy1",
        "-h db.example.com",
    ),
    ("mysql --password='Qw3rty!!' app", "Qw3rty!!", "app"),
    (
        "sshpass -pN0tS3cure rsync -a src/ host:dst/",
        "N0tS3cure",
        "rsync -a src/ host:dst/",
    ),
    (
        "PGPASSWORD='pgS3cret!' psql -U app -h db prod",
        "pgS3cret!",
        "psql -U app -h db prod",
    ),
    (
        "mongosh -u admin -p M0ng0Pass --authenticationDatabase admin",
        "M0ng0Pass",
        "--authenticationDatabase admin",
    ),
    (
        "docker login registry.example.com -u ci -p Ci-Pa55word",
        "Ci-Pa55word",
        "docker login registry.example.com -u ci -p",
    ),
    (
        "ldapsearch -x -D cn=admin,dc=example,dc=org -w LdapAdm1n -b dc=example,dc=org",
        "LdapAdm1n",
        "-b dc=example,dc=org",
    ),
    (
        "echo 'Sud0Pass' | sudo -S apt-get update",
        "Sud0Pass",
        "| sudo -S apt-get update",
    ),
    (
        "wget --http-password=Wg3tPass https://files.example.org/x.tgz",
        "Wg3tPass",
        "https://files.example.org/x.tgz",
    ),
    (
        "openssl pkcs12 -export -in cert.pem -passout pass:P12Export! -out cert.p12",
        "P12Export!",
        "-out cert.p12",
    ),
    (
        "htpasswd -bc /etc/nginx/.htpasswd admin Htp4sswd",
        "Htp4sswd",
        "/etc/nginx/.htpasswd admin",
    ),
    (
        "smbclient //nas/share -U ann%Smb4Pass",
        "Smb4Pass",
        "-U ann%",
    ),
    // A password said in prose, in notes and mail.
    (
        "my password is hunter2",
        "hunter2",
        "my password is [REDACTED:password]",
    ),
    ("the pw is Tr0ub4dor&3", "Tr0ub4dor&3", "the pw is"),
    ("passcode: 7Gh2Kq", "7Gh2Kq", "passcode:"),
    (
        "Das Passwort ist Sommer2024!",
        "Sommer2024!",
        "Das Passwort ist",
    ),
    (
        "the wifi password is 'correct horse battery staple'",
        "correct horse battery staple",
        "the wifi password is",
    ),
    (
        "Note to self: the password for the router is Xk92!ab.",
        "Xk92!ab",
        "router is [REDACTED:password].",
    ),
    ("Kennwort: Geheim#42", "Geheim#42", "Kennwort:"),
    (
        "Subject: Your new password: Welcome2024!",
        "Welcome2024!",
        "Subject: Your new password:",
    ),
    (
        "mein Passwort lautet: blumenwiese",
        "blumenwiese",
        "mein Passwort lautet:",
    ),
    (
        "the password is: swordfish",
        "swordfish",
        "the password is:",
    ),
    (
        "Re: access — the admin password is now Adm!n2025, please change it",
        "Adm!n2025",
        "please change it",
    ),
];

const NEGATIVES: &[&str] = &[
    "We walked along the river and talked about the new key lime pie recipe.",
    "The password reset email never arrived, so I called support.",
    "Remember to buy a new key ring and a token for the parking machine.",
    "commit 3f786850e387550fdab836ed7e6dc881de23001b",
    "git checkout 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "Merge pull request #4521 from acme/feature/auth-flow",
    "uuid 550e8400-e29b-41d4-a716-446655440000 assigned to device",
    "request id 7d444840-9dc0-11d1-b245-5ffdce74fad2 failed",
    "![](data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==)",
    "/home/ann/Projects/openclone/vault/src/redact/gitleaks.rs",
    "C:\\Users\\ann\\Documents\\Taxes\\2024\\receipt-0042.pdf",
    "cd ~/src/keyboard-layouts && make install",
    "ls -la /etc/ssh/",
    "ssh -p 2222 ann@build.example.org",
    "mkdir -p build/release && cd build/release",
    "grep -rn 'TODO' src/ | wc -l",
    "cargo test --workspace -- --nocapture",
    "docker run -p 8080:80 nginx:1.27",
    "python3 -m venv .venv && . .venv/bin/activate",
    "tar -xzf node-v22.11.0-linux-x64.tar.xz",
    "The meeting about the API roadmap moved to Thursday 14:00.",
    "Access to the building is through the side entrance after 6 pm.",
    "My secret santa gift was a book about Roman history.",
    "The keynote covered authentication, authorization and auditing.",
    "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "md5 d41d8cd98f00b204e9800998ecf8427e",
    "Tokens in the compiler are produced by the lexer before parsing.",
    "I finally understood how public-key cryptography works.",
    "echo $PATH | tr ':' '\\n'",
    "export PATH=$HOME/.cargo/bin:$PATH",
    "export EDITOR=nvim",
    "export DB_PASSWORD=$(pass show db/prod)",
    "export GITHUB_TOKEN=$GH_TOKEN",
    "https://en.wikipedia.org/wiki/Key_(cryptography)",
    "https://example.com/search?q=password+manager+comparison",
    "Visit https://docs.rs/regex/latest/regex/ for the syntax.",
    "mailto:ann@example.com?subject=Lunch",
    "Order #100234 shipped on 2024-02-18 via DHL, tracking 00340434161234567890.",
    "Version 1.2.3-beta.4+build.5678 released.",
    "IPv6 address 2001:db8:85a3::8a2e:370:7334 assigned",
    "MAC 00:1A:2B:3C:4D:5E on eth0",
    "Call me at the office tomorrow, the line is busy today.",
    "Lyrics: you are the key to my heart, the secret of my smile.",
    "The recipe needs 2 cups of flour, 1 tsp salt and 3 eggs.",
    "Temperature 21.5°C, humidity 48%, pressure 1013 hPa.",
    "git log --oneline --graph --decorate --all",
    "kubectl get pods -n kube-system -o wide",
    "systemctl restart nginx.service",
    "ffmpeg -i input.mov -c:v libx264 -crf 23 output.mp4",
    "rsync -avz --progress ./photos/ nas:/volume1/photos/",
    "The base64 of 'hello' is aGVsbG8=.",
    "Build 20240218.3 passed all 1,204 tests in 3m12s.",
    "ISBN 978-3-16-148410-0 on the shelf.",
    "Coordinates 52.5200, 13.4050 near Alexanderplatz.",
    "ticket JIRA-4821: fix the login page layout",
    "The token bucket refills at one request per second.",
    "Keyboard shortcut: Ctrl+Shift+P opens the command palette.",
    "She kept the secret until the very end of the novel.",
    "passwordless login via WebAuthn works on my phone now",
    "apt-get install -y libssl-dev pkg-config",
    "npm install --save-dev typescript@5.6.3",
    "The API key rotation policy is documented in the wiki.",
    "Subject: Password reset email for your account",
    "I forgot my password again and had to reset it.",
    "git push origin main",
    "git push --force-with-lease origin feature/login",
    "pin the tab so it stays open",
    "pinned 4 notes to the board",
    "Pin 12 of the GPIO header is ground",
    "Erlang/OTP 26 is installed on the build host",
    "The OTP app shows a new code every 30 seconds.",
    "PIN codes are listed in the postal directory.",
    "my password is wrong, says the login page",
    "the password is at least 12 characters long",
    "The password is required for the admin panel.",
    "The password was changed on 2024-03-01.",
    "my password is 16 characters",
    "Das Passwort ist falsch.",
    "the pw is in the usual place",
    "What is the password policy for contractors?",
    "the password manager is 1Password",
    "URGENT: PASSWORD RESET REQUIRED",
    "ACCESS TOKEN EXPIRED",
    "Our machine learning login page has a password reset link.",
    "Authorization: Basic auth is deprecated for this API",
    "Basic authentication explained in five minutes",
    "https://discord.com/channels/123456789012345678/987654321098765432",
    "Join us at https://discord.gg/rust-lang",
    "redis-cli --askpass ping",
    "mysql -u root -p shop",
    "psql --no-password -h db mydb",
    "ldapsearch -x -W -b dc=example,dc=org",
    "echo $PASSWORD | docker login --password-stdin -u ci registry.example.com",
    "Tokens used: 1532 (prompt 1200, completion 332)",
    "Your code review is scheduled for 1400.",
    "sudo -S apt update < /dev/null",
    "htpasswd -c /etc/nginx/.htpasswd admin",
    "docker login registry.example.com",
    "Subject: Your sign-in code has expired",
];

#[test]
fn every_positive_is_redacted_and_negatives_stay() {
    assert!(POSITIVES.len() >= 100 && NEGATIVES.len() >= 95);
    let missed: Vec<String> = POSITIVES
        .iter()
        .map(|(text, secret, kept)| (text, secret, kept, redact(Cow::Borrowed(text), false)))
        .filter(|(_, secret, kept, out)| out.contains(**secret) || !out.contains(**kept))
        .map(|(text, _, _, out)| format!("{text}\n  → {out}"))
        .collect();
    assert!(
        missed.is_empty(),
        "not redacted as expected:\n{}",
        missed.join("\n")
    );
    let changed: Vec<(&str, String)> = NEGATIVES
        .iter()
        .map(|t| (*t, redact(Cow::Borrowed(t), false).into_owned()))
        .filter(|(t, out)| t != out)
        .collect();
    println!(
        "redaction corpus: {} positives redacted, {} of {} negatives changed ({:.1} % false positives)",
        POSITIVES.len(),
        changed.len(),
        NEGATIVES.len(),
        100.0 * changed.len() as f64 / NEGATIVES.len() as f64
    );
    for (t, out) in &changed {
        println!("  false positive: {t}\n               → {out}");
    }
    assert!(changed.is_empty(), "negatives were changed: {changed:#?}");
}
