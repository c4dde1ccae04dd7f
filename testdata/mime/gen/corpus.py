import base64, os, random, quopri
random.seed(42)
# testdata/mime, the folder above this script.
OUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
msgs = {}

def crlf(s):
    return s.replace("\r\n", "\n").replace("\n", "\r\n")

def b64(data, width=76):
    e = base64.b64encode(data).decode()
    return "\n".join(e[i:i+width] for i in range(0, len(e), width))

def rnd(n):
    return bytes(random.getrandbits(8) for _ in range(n))

def add(name, text, raw=False, enc="utf-8"):
    data = text if isinstance(text, bytes) else text.encode(enc)
    if not raw:
        data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    msgs[name] = data

# 001 simple text/plain
add("001", """Return-Path: <alice@example.org>
Received: from mail.example.org (mail.example.org [192.0.2.1])
	by mx.example.net with ESMTPS id 4F2A1B3C
	for <bob@example.net>; Tue, 14 Nov 2023 09:12:33 +0000
From: Alice Example <alice@example.org>
To: Bob <bob@example.net>
Subject: Lunch on Friday?
Date: Tue, 14 Nov 2023 10:12:30 +0100
Message-ID: <20231114101230.GA1234@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: 7bit

Hi Bob,

are you free for lunch on Friday? The new place on Main Street
opened last week.

-- 
Alice
""")

# 002 Thunderbird multipart/alternative
add("002", """Message-ID: <6a1f0e3c-2b1d-4c55-9f0e-2f4a1b7c9d21@example.com>
Date: Wed, 15 Nov 2023 14:03:11 +0100
MIME-Version: 1.0
User-Agent: Mozilla Thunderbird
Content-Language: en-US
To: team@example.com
From: Carol Writer <carol@example.com>
Subject: Release notes draft
Content-Type: multipart/alternative;
 boundary="------------8A2D1C0F5B6E3D4C2B1A0F9E"

This is a multi-part message in MIME format.
--------------8A2D1C0F5B6E3D4C2B1A0F9E
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: quoted-printable

Hi all,

here is the draft of the release notes =E2=80=93 please review by Friday.=
 Comments welcome.

Carol

--------------8A2D1C0F5B6E3D4C2B1A0F9E
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

<!DOCTYPE html>
<html>
  <head>
    <meta http-equiv=3D"Content-Type" content=3D"text/html; charset=3DUTF-8">
  </head>
  <body>
    <p>Hi all,</p>
    <p>here is the draft of the release notes =E2=80=93 please review by Fr=
iday.</p>
  </body>
</html>

--------------8A2D1C0F5B6E3D4C2B1A0F9E--
""")

png = rnd(700)
pdf = b"%PDF-1.4\n" + rnd(1500)
# 003 Outlook: mixed(alternative(plain, related(html, image)), attachment)
add("003", f"""From: "Doe, John" <John.Doe@corp.example>
To: "Smith, Jane" <Jane.Smith@corp.example>
CC: "Team Leads" <leads@corp.example>
Subject: RE: Q4 budget
Thread-Topic: Q4 budget
Thread-Index: AQHaF2s3k1x2b3c4d5e6f7g8h9i0jA==
Date: Thu, 16 Nov 2023 08:45:02 +0000
Message-ID: <DB9PR01MB1234567890ABCDEF@DB9PR01MB1234.eurprd01.prod.exchangelabs.com>
References: <AM0PR01MB0987654321@AM0PR01MB0987.eurprd01.prod.exchangelabs.com>
In-Reply-To: <AM0PR01MB0987654321@AM0PR01MB0987.eurprd01.prod.exchangelabs.com>
Accept-Language: en-US
Content-Language: en-US
X-MS-Has-Attach: yes
Content-Type: multipart/mixed;
	boundary="_004_DB9PR01MB1234567890ABCDEF_"
MIME-Version: 1.0

--_004_DB9PR01MB1234567890ABCDEF_
Content-Type: multipart/alternative;
	boundary="_000_DB9PR01MB1234567890ABCDEF_"

--_000_DB9PR01MB1234567890ABCDEF_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Jane,

See the attached spreadsheet. The chart is below.

John

--_000_DB9PR01MB1234567890ABCDEF_
Content-Type: multipart/related;
	boundary="_005_DB9PR01MB1234567890ABCDEF_";
	type="text/html"

--_005_DB9PR01MB1234567890ABCDEF_
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html xmlns:o=3D"urn:schemas-microsoft-com:office:office">
<body lang=3D"EN-US">
<p class=3D"MsoNormal">Jane,<o:p></o:p></p>
<p class=3D"MsoNormal"><img width=3D"400" height=3D"300" id=3D"Picture_x0020_1" src=3D"cid:image001.png@01DA1868.5F3B2A10"></p>
</body>
</html>

--_005_DB9PR01MB1234567890ABCDEF_
Content-Type: image/png; name="image001.png"
Content-Description: image001.png
Content-Disposition: inline; filename="image001.png"; size={len(png)};
	creation-date="Thu, 16 Nov 2023 08:45:01 GMT";
	modification-date="Thu, 16 Nov 2023 08:45:01 GMT"
Content-ID: <image001.png@01DA1868.5F3B2A10>
Content-Transfer-Encoding: base64

{b64(png)}

--_005_DB9PR01MB1234567890ABCDEF_--

--_000_DB9PR01MB1234567890ABCDEF_--

--_004_DB9PR01MB1234567890ABCDEF_
Content-Type: application/pdf; name="Q4 budget.pdf"
Content-Description: Q4 budget.pdf
Content-Disposition: attachment; filename="Q4 budget.pdf"; size={len(pdf)};
	creation-date="Thu, 16 Nov 2023 08:44:00 GMT";
	modification-date="Thu, 16 Nov 2023 08:44:00 GMT"
Content-Transfer-Encoding: base64

{b64(pdf)}

--_004_DB9PR01MB1234567890ABCDEF_--
""")

# 004 Gmail with RFC 2231 UTF-8 filename
doc = rnd(900)
ru_plain = b64("Добрый день!\n\nОтчёт во вложении.\n\nИван\n".replace("\n","\r\n").encode())
ru_html = b64('<div dir="ltr">Добрый день!<div><br></div><div>Отчёт во вложении.</div></div>\r\n'.encode())
add("004", f"""MIME-Version: 1.0
Date: Fri, 17 Nov 2023 11:20:45 +0200
Message-ID: <CAF=aBcD1234efGH5678ijKL@mail.gmail.com>
Subject: =?UTF-8?B?0J7RgtGH0ZHRgiDQt9CwINC90L7Rj9Cx0YDRjA==?=
From: =?UTF-8?B?0JjQstCw0L0g0J/QtdGC0YDQvtCy?= <ivan.petrov@gmail.com>
To: accounting@example.ru
Content-Type: multipart/mixed; boundary="000000000000a1b2c3d4e5f60708"

--000000000000a1b2c3d4e5f60708
Content-Type: multipart/alternative; boundary="000000000000a1b2c3d4e5f60706"

--000000000000a1b2c3d4e5f60706
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: base64

{ru_plain}
--000000000000a1b2c3d4e5f60706
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: base64

{ru_html}
--000000000000a1b2c3d4e5f60706--
--000000000000a1b2c3d4e5f60708
Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; 
	name="=?UTF-8?B?0J7RgtGH0ZHRgi5kb2N4?="
Content-Disposition: attachment; 
	filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82.docx
Content-Transfer-Encoding: base64
X-Attachment-Id: f_lp2k3j4h0
Content-ID: <f_lp2k3j4h0>

{b64(doc)}
--000000000000a1b2c3d4e5f60708--
""")

# 005 Apple Mail
jpg = rnd(600)
add("005", f"""From: Dana Fruit <dana@icloud.example>
Content-Type: multipart/alternative;
	boundary="Apple-Mail=_5C1D2E3F-4A5B-6C7D-8E9F-0A1B2C3D4E5F"
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3774.200.91.1.1\\))
Subject: Photos from the weekend
Date: Sat, 18 Nov 2023 19:02:11 -0800
Message-Id: <F1E2D3C4-B5A6-4798-8A9B-0C1D2E3F4A5B@icloud.example>
To: Eve <eve@example.com>,
 Frank <frank@example.com>
X-Mailer: Apple Mail (2.3774.200.91.1.1)


--Apple-Mail=_5C1D2E3F-4A5B-6C7D-8E9F-0A1B2C3D4E5F
Content-Transfer-Encoding: 7bit
Content-Type: text/plain;
	charset=us-ascii;
	delsp=yes;
	format=flowed

Here's the view from the top. More later!

--Apple-Mail=_5C1D2E3F-4A5B-6C7D-8E9F-0A1B2C3D4E5F
Content-Type: multipart/related;
	type="text/html";
	boundary="Apple-Mail=_7A8B9C0D-1E2F-3A4B-5C6D-7E8F9A0B1C2D"


--Apple-Mail=_7A8B9C0D-1E2F-3A4B-5C6D-7E8F9A0B1C2D
Content-Transfer-Encoding: 7bit
Content-Type: text/html;
	charset=us-ascii

<html><head><meta http-equiv="Content-Type" content="text/html; charset=us-ascii"></head><body style="word-wrap: break-word;">Here's the view from the top.<img apple-inline="yes" id="A1B2" src="cid:4D5E6F70-8192-A3B4-C5D6-E7F8091A2B3C"> More later!</body></html>
--Apple-Mail=_7A8B9C0D-1E2F-3A4B-5C6D-7E8F9A0B1C2D
Content-Transfer-Encoding: base64
Content-Disposition: inline;
	filename=IMG_4711.jpeg
Content-Type: image/jpeg;
	x-unix-mode=0644;
	name="IMG_4711.jpeg"
Content-Id: <4D5E6F70-8192-A3B4-C5D6-E7F8091A2B3C>

{b64(jpg)}
--Apple-Mail=_7A8B9C0D-1E2F-3A4B-5C6D-7E8F9A0B1C2D--

--Apple-Mail=_5C1D2E3F-4A5B-6C7D-8E9F-0A1B2C3D4E5F--
""")

ics = """BEGIN:VCALENDAR
PRODID:-//Google Inc//Google Calendar 70.9054//EN
VERSION:2.0
CALSCALE:GREGORIAN
METHOD:REQUEST
BEGIN:VEVENT
DTSTART:20231201T150000Z
DTEND:20231201T160000Z
DTSTAMP:20231120T093000Z
ORGANIZER;CN=Grace Hopper:mailto:grace@example.com
UID:7kukuqrfedlm2f9t0vr6q8q7o4@google.com
ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=
 TRUE;CN=heidi@example.com;X-NUM-GUESTS=0:mailto:heidi@example.com
SUMMARY:Design review
LOCATION:Room 4.2
SEQUENCE:0
STATUS:CONFIRMED
END:VEVENT
END:VCALENDAR
"""
inv_plain = b64(b"You have been invited to the following event.\r\n\r\nTitle: Design review\r\nWhen: Fri Dec 1, 2023 3pm - 4pm (UTC)\r\n")
add("006", f"""MIME-Version: 1.0
Date: Mon, 20 Nov 2023 09:30:00 +0000
Reply-To: Grace Hopper <grace@example.com>
Sender: Google Calendar <calendar-notification@google.com>
Message-ID: <0000000000001a2b3c4d5e6f@google.com>
Subject: Invitation: Design review @ Fri Dec 1, 2023 3pm - 4pm (UTC) (heidi@example.com)
From: Grace Hopper <grace@example.com>
To: heidi@example.com
Content-Type: multipart/mixed; boundary="0000000000001a2b3c4d5e6f70"

--0000000000001a2b3c4d5e6f70
Content-Type: multipart/alternative; boundary="0000000000001a2b3c4d5e6f6e"

--0000000000001a2b3c4d5e6f6e
Content-Type: text/plain; charset="UTF-8"; format=flowed; delsp=yes
Content-Transfer-Encoding: base64

{inv_plain}
--0000000000001a2b3c4d5e6f6e
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<span itemscope itemtype=3D"http://schema.org/InformAction">Design review</s=
pan>
--0000000000001a2b3c4d5e6f6e
Content-Type: text/calendar; charset="UTF-8"; method=REQUEST
Content-Transfer-Encoding: 7bit

{ics}
--0000000000001a2b3c4d5e6f6e--
--0000000000001a2b3c4d5e6f70
Content-Type: application/ics; name="invite.ics"
Content-Disposition: attachment; filename="invite.ics"
Content-Transfer-Encoding: base64

{b64(ics.replace(chr(10), chr(13)+chr(10)).encode())}
--0000000000001a2b3c4d5e6f70--
""")

inner_alt = """From: Ivan <ivan@example.org>
To: Judy <judy@example.org>
Subject: Original question
Date: Tue, 21 Nov 2023 07:00:00 -0500
Message-ID: <orig-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="inner-b"

--inner-b
Content-Type: text/plain; charset=utf-8

What time is the meeting?
--inner-b
Content-Type: text/html; charset=utf-8

<p>What time is the meeting?</p>
--inner-b--
"""
add("007", f"""From: Judy <judy@example.org>
To: Mallory <mallory@example.org>
Subject: Fwd: Original question
Date: Tue, 21 Nov 2023 08:00:00 -0500
Message-ID: <fwd-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer-b"

--outer-b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

See below — forwarding as attachment.

--outer-b
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Original question.eml"

{inner_alt}
--outer-b--
""")

add("008", f"""From: Niaj <niaj@example.net>
To: Olivia <olivia@example.net>
Subject: Fwd: Fwd: nested
Date: Wed, 22 Nov 2023 12:00:00 +0000
MIME-Version: 1.0
Content-Type: message/rfc822

From: Peggy <peggy@example.net>
To: Niaj <niaj@example.net>
Subject: Fwd: nested
Date: Wed, 22 Nov 2023 11:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=lvl2

--lvl2
Content-Type: text/plain

Forwarding again.
--lvl2
Content-Type: message/rfc822; name=inner.eml
Content-Description: the innermost message

From: Rupert <rupert@example.net>
Subject: nested
Message-ID: <deep@example.net>

Innermost body.
--lvl2--
""")

add("009", """From: digest-owner@lists.example.com
To: subscribers@lists.example.com
Subject: Example-L Digest, Vol 12, Issue 3
Date: Thu, 23 Nov 2023 00:00:01 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="digest-outer"

--digest-outer
Content-Type: text/plain; charset="us-ascii"
Content-Description: Example-L Digest, Vol 12, Issue 3

Today's Topics:

   1. First topic (Sybil)
   2. Second topic (Trent)

--digest-outer
Content-Type: multipart/digest; boundary="digest-inner"

--digest-inner

From: Sybil <sybil@example.com>
Subject: First topic
Date: Wed, 22 Nov 2023 10:00:00 +0000
Message-ID: <t1@example.com>

First message body.

--digest-inner
Content-Type: message/rfc822

From: Trent <trent@example.com>
Subject: Second topic
Date: Wed, 22 Nov 2023 11:00:00 +0000

Second message body.

--digest-inner
Content-Type: text/plain

Not a message, just text inside a digest.
--digest-inner--

--digest-outer
Content-Type: text/plain; charset="us-ascii"

_______________________________________________
Example-L mailing list
--digest-outer--
""")

add("010", """From: Jürgen Müller <juergen@müller.example>
To: "Zoë Ångström" <zoe@example.se>
Cc: 田中 太郎 <tanaka@example.jp>
Subject: Grüße aus München – 日本語テスト
Date: Fri, 24 Nov 2023 16:30:00 +0100
Message-ID: <utf8-1@müller.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Hallo Zoë,

viele Grüße aus München! 日本語も大丈夫です。
""")

add("011", """From: =?ISO-8859-1?Q?Andr=E9_Pirard?= <PIRARD@vm1.ulg.ac.be>
To: =?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>,
 =?ISO-8859-1?Q?Olle_J=E4rnefors?= <ojarnef@admin.kth.se>
Cc: =?utf-8?q?Z=C3=BCrich_Team?= <zh@example.ch>
Reply-To: =?UTF-8?B?w4Vsb2Y=?= <alof@example.se>
Subject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=
 =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=
Date: Sat, 25 Nov 2023 10:00:00 +0000
Message-ID: <ew-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=ewb

--ewb
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: quoted-printable
Content-Description: =?ISO-8859-1?Q?R=E9sum=E9?=

Voil=E0 le r=E9sum=E9.
--ewb
Content-Type: application/octet-stream; name="=?UTF-8?Q?d=C3=A9j=C3=A0_vu.bin?="
Content-Disposition: attachment; filename="=?UTF-8?Q?d=C3=A9j=C3=A0_vu.bin?="
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
--ewb--
""")

add("012", """From: Victor <victor@example.com>
To: undisclosed-recipients:;
Cc: Friends: Wendy <wendy@example.com>, "Xavier X." <xavier@example.com>;, Yvonne <yvonne@example.com>
Bcc: Empty Group:;, Another: one@example.com;
Subject: Groups
Date: Sun, 26 Nov 2023 09:00:00 +0000
Message-ID: <groups@example.com>

Group syntax test.
""")

add("013", """From: Zed <zed@example.com>
To: a@example.com
Subject: RFC 2231 parameters
Date: Sun, 26 Nov 2023 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="2231"

--2231
Content-Type: application/x-stuff;
 title*0*=us-ascii'en'This%20is%20even%20more%20;
 title*1*=%2A%2A%2Afun%2A%2A%2A%20;
 title*2="isn't it!"
Content-Disposition: attachment;
 filename*0="very long file name that was split ";
 filename*1="into two pieces.txt"

stuff
--2231
Content-Type: text/plain; CHARSET="ISO-8859-1"; Format=Flowed
Content-Disposition: inline; filename*=iso-8859-1'fr'r%E9sum%E9.txt

text
--2231
Content-Type: application/octet-stream; name*1="second"; name*0="first-"; name*3="gap"
Content-Disposition: attachment; filename="a \\"quoted\\" name.bin"; size=3

abc
--2231--
""")

enc_b64 = b64("Base64 encoded text with ümlauts.\r\nSecond line.\r\n".encode())
add("014", f"""From: enc@example.com
To: dec@example.com
Subject: Transfer encodings
Date: Mon, 27 Nov 2023 08:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="enc"

--enc
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

{enc_b64}
--enc
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: Quoted-Printable

Caf=E9 cr=E8me =3D tasty=20
Soft line=
 break and trailing spaces   
--enc
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Raw 8bit: naïve café
--enc
Content-Type: application/octet-stream
Content-Transfer-Encoding: x-uuencode

begin 644 file.txt
#86)C
`
end
--enc
Content-Type: application/octet-stream
Content-Transfer-Encoding: BASE64 (with a comment)

AQIDBAUG
--enc
Content-Type: text/plain
Content-Transfer-Encoding: binary

binary CTE but plain text
--enc--
""")

sig = b64(b"-----BEGIN PGP SIGNATURE-----\n" + rnd(200) + b"\n-----END PGP SIGNATURE-----\n")
add("015", """From: Signer <signer@example.org>
To: verifier@example.org
Subject: Signed message
Date: Tue, 28 Nov 2023 12:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/signed; micalg=pgp-sha256;
 protocol="application/pgp-signature";
 boundary="------------sig0123456789"

This is an OpenPGP/MIME signed message (RFC 4880 and 3156)
--------------sig0123456789
Content-Type: multipart/mixed; boundary="------------mix0123456789";
 protected-headers="v1"
Subject: Signed message
From: Signer <signer@example.org>

--------------mix0123456789
Content-Type: text/plain; charset=UTF-8; format=flowed
Content-Transfer-Encoding: quoted-printable

This message is signed.

--------------mix0123456789--

--------------sig0123456789
Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"
Content-Description: OpenPGP digital signature
Content-Disposition: attachment; filename="OpenPGP_signature.asc"

-----BEGIN PGP SIGNATURE-----

wsB5BAABCAAjFiEEabcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW
=ab12
-----END PGP SIGNATURE-----

--------------sig0123456789--
""")

add("016", """From: Crypto <crypto@example.org>
To: reader@example.org
Subject: ...
Date: Tue, 28 Nov 2023 13:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/encrypted;
 protocol="application/pgp-encrypted";
 boundary="------------enc0987654321"

This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)
--------------enc0987654321
Content-Type: application/pgp-encrypted
Content-Description: PGP/MIME version identification

Version: 1

--------------enc0987654321
Content-Type: application/octet-stream; name="encrypted.asc"
Content-Description: OpenPGP encrypted message
Content-Disposition: inline; filename="encrypted.asc"

-----BEGIN PGP MESSAGE-----

hQEMA1234567890ABAQf/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH
=xyz1
-----END PGP MESSAGE-----

--------------enc0987654321--
""")

add("017", f"""From: smime@example.com
To: reader@example.com
Subject: S/MIME encrypted
Date: Wed, 29 Nov 2023 09:00:00 +0000
MIME-Version: 1.0
Content-Type: application/pkcs7-mime; smime-type=enveloped-data;
	name="smime.p7m"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="smime.p7m"
Content-Description: S/MIME Encrypted Message

{b64(rnd(500), 64)}
""")

add("018", """From: intl@example.com
To: reader@example.com
Subject: message/global attachment
Date: Wed, 29 Nov 2023 10:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=glob

--glob
Content-Type: text/plain

An internationalized message is attached.
--glob
Content-Type: message/global

From: Ünïcode <ünï@exämple.com>
To: reader@example.com
Subject: Größe
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Inhalt.
--glob--
""")

add("019", """Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mx.example.com>
To: sender@example.com
Subject: Undelivered Mail Returned to Sender
Date: Thu, 30 Nov 2023 06:00:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="ABC123.1701324000/mx.example.com"
Message-Id: <20231130060000.ABC123@mx.example.com>

This is a MIME-encapsulated message.

--ABC123.1701324000/mx.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<nobody@example.net>: host mx.example.net[198.51.100.7] said: 550 5.1.1
    <nobody@example.net>: Recipient address rejected: User unknown

--ABC123.1701324000/mx.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
Arrival-Date: Thu, 30 Nov 2023 05:59:58 +0000 (UTC)

Final-Recipient: rfc822; nobody@example.net
Action: failed
Status: 5.1.1

--ABC123.1701324000/mx.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: sender@example.com
To: nobody@example.net
Subject: hello

--ABC123.1701324000/mx.example.com--
""")

add("020", """From: meta@example.com
To: reader@example.com
Subject: Content-* extension fields
Date: Thu, 30 Nov 2023 07:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=meta; charset=ignored
Content-Language: en
Content-Location: http://example.com/multi
Content-Disposition: inline

--meta
Content-Type: text/plain; charset=us-ascii
Content-ID: <part1@example.com>
Content-Description: A described part
Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
Content-Language: en-US, fr-CA
Content-Location: http://example.com/part1.txt
Content-Disposition: inline; filename=part1.txt; modification-date="Thu, 30 Nov 2023 07:00:00 +0000"

Part one.
--meta
Content-Type: text/html
Content-Language: de
Content-Location: relative/part2.html
Content-Description: folded
  description with  double spaces

<b>Part two.</b>
--meta--
""")

# broken
add("021", """From: broken@example.com
To: reader@example.com
Subject: multipart without boundary parameter
Date: Fri, 01 Dec 2023 00:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed

--foo
Content-Type: text/plain

Part that can't be found.
--foo--
""")

add("022", """From: broken@example.com
To: reader@example.com
Subject: boundary never appears
Date: Fri, 01 Dec 2023 00:01:00 +0000
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="never-used"

--some-other-boundary
Content-Type: text/plain

Text.
--some-other-boundary--
""")

add("023", """From: broken@example.com
To: reader@example.com
Subject: no end boundary
Date: Fri, 01 Dec 2023 00:02:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="trunc"

--trunc
Content-Type: text/plain

first
--trunc
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g
ISIjJCUmJygpKissLS4v
""")

add("024", """From: broken@example.com
To: reader@example.com
Subject: no blank line after the header
Date: Fri, 01 Dec 2023 00:03:00 +0000
This line was meant to be the body.
It has no colon, so it continues the header.

Real body after a blank line.
""")

add("025", b"From: lf@example.com\nTo: reader@example.com\nSubject: LF only\nDate: Fri, 01 Dec 2023 00:04:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain\n\nLine one.\nLine two.\n", raw=True)

add("026", b"From: lf@example.com\nTo: reader@example.com\nSubject: LF-only multipart\nDate: Fri, 01 Dec 2023 00:05:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=lfb\n\npreamble\n--lfb\nContent-Type: text/plain\n\nfirst\npart\n--lfb\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nsecond=3Dpart=\nsoft\n--lfb--\nepilogue\n", raw=True)

received = "".join(f"Received: from relay{i}.example.net (relay{i}.example.net [198.51.100.{i%250}])\n\tby relay{i+1}.example.net with ESMTP id {i:08X}\n\tfor <reader@example.com>; Fri, 01 Dec 2023 00:06:{i%60:02d} +0000\n" for i in range(900))
add("027", "Subject: huge header\nFrom: huge@example.com\nTo: reader@example.com\n" + received + "X-Long: " + ("x" * 5000) + "\nDate: Fri, 01 Dec 2023 00:06:00 +0000\n\nbody of a message with a huge header\n")

add("028", """From: first@example.com
From: second@example.com
To: to1@example.com
To: to2@example.com
Subject: first subject
Subject: second subject
Date: Fri, 01 Dec 2023 00:07:00 +0000
Date: Sat, 02 Dec 2023 00:07:00 +0000
Message-ID: <first@example.com>
Message-ID: <second@example.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=dup
Content-Type: text/plain

--dup
Content-Type: text/plain; charset=utf-8
Content-Type: text/html
Content-Transfer-Encoding: base64
Content-Transfer-Encoding: 7bit
Content-ID: <a@x>
Content-ID: <b@x>
Content-Disposition: inline
Content-Disposition: attachment; filename=second.txt
Content-Description: one
Content-Description: two

aGVsbG8=
--dup--
""")

garbage = bytes(random.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 :;<>\"'()[]{}!@#$%^&*-_=+,./?\\|\t\n") for _ in range(1500))
add("029", garbage)

add("030", b"\r\n", raw=True)

add("031", "From: headers-only@example.com\nTo: reader@example.com\nSubject: only headers, no blank line\nDate: Fri, 01 Dec 2023 00:08:00 +0000")

add("032", "From: headers-only@example.com\nTo: reader@example.com\nSubject: only headers and blank line\nDate: Fri, 01 Dec 2023 00:09:00 +0000\n\n")

def nest(depth, leaf):
    s = leaf
    for d in range(depth, 0, -1):
        s = f"Content-Type: multipart/mixed; boundary=\"n{d}\"\n\n--n{d}\n{s}\n--n{d}--\n"
    return s
add("033", "From: deep@example.com\nTo: reader@example.com\nSubject: 30 levels of nesting\nDate: Fri, 01 Dec 2023 00:10:00 +0000\nMIME-Version: 1.0\n" + nest(30, "Content-Type: text/plain\n\ndeep leaf"))
add("034", "From: deeper@example.com\nTo: reader@example.com\nSubject: 110 levels of nesting\nDate: Fri, 01 Dec 2023 00:11:00 +0000\nMIME-Version: 1.0\n" + nest(110, "Content-Type: text/plain\n\ndeepest leaf"))

add("035", """From: b64@example.com
To: reader@example.com
Subject: bad base64
Date: Fri, 01 Dec 2023 00:12:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=bad64

--bad64
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

SGVsbG8gd29ybGQ*!!
not base64 at all ~~~
QUJD=
REVG
--bad64
Content-Type: text/plain
Content-Transfer-Encoding: base64

SGVsbG8=SGVsbG8=
--bad64
Content-Type: text/plain
Content-Transfer-Encoding: base64

SGVsbG
--bad64--
""")

add("036", """From: qp@example.com
To: reader@example.com
Subject: bad quoted-printable
Date: Fri, 01 Dec 2023 00:13:00 +0000
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii
Content-Transfer-Encoding: quoted-printable

Bad escape =ZZ here, lowercase =3d hex, lone = sign
trailing tab	
=
line ending in equals then space= 
last line without newline=4""")

add("037", """From: pad@example.com
To: reader@example.com
Subject: padding, preamble, epilogue, prefix boundaries
Date: Fri, 01 Dec 2023 00:14:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="abc"

This is the preamble.
It spans two lines.
--abc   
Content-Type: multipart/alternative; boundary="abcdef"

--abcdef	 
Content-Type: text/plain

inner one
--abcdef
Content-Type: text/plain

inner two
--abcdef--
trailing text of the inner multipart
--abc
Content-Type: text/plain

outer two
--abc--   
This is the epilogue.
It also spans lines.
""")

add("038", """From: same@example.com
To: reader@example.com
Subject: nested multipart reusing the boundary
Date: Fri, 01 Dec 2023 00:15:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="same"

--same
Content-Type: multipart/alternative; boundary="same"

--same
Content-Type: text/plain

a
--same
Content-Type: text/html

<b>b</b>
--same--
--same
Content-Type: text/plain

c
--same--
""")

# 039: raw latin-1 and legacy charsets
hdr039 = ("From: =?KOI8-R?B?68/O09TBztTJziDw1dvLyc4=?= <koi@example.ru>\n"
          "To: =?Shift_JIS?B?k/qWe4zq?= <sjis@example.jp>, =?GB2312?B?1tDOxA==?= <gb@example.cn>\n"
          "Cc: =?x-unknown-charset?Q?who_knows?= <unk@example.com>, =?utf-8?B?broken base64?= <bb@example.com>\n"
          "Subject: Caf\xe9 =?iso-8859-15?q?=A4uro?= and =?UTF-8?Q?missing_end\n"
          "Date: Fri, 01 Dec 2023 00:16:00 +0000\n"
          "X-Latin1: na\xefve r\xe9sum\xe9\n"
          "MIME-Version: 1.0\n"
          "Content-Type: text/plain; charset=windows-1252\n"
          "Content-Transfer-Encoding: 8bit\n\n"
          "Smart quotes \x93like this\x94 and \x80uro.\n")
add("039", hdr039.encode("latin-1"))

add("040", """From: "Quoted \\"Name\\"" <quoted@example.com>
Sender: <@relay1.example,@relay2.example:routed@example.com>
Reply-To: user@example.com (Comment Name), (only comment) noname@example.com
To: no-domain, "Just a name", <>, @, user@[192.0.2.55], a@b c@d
Cc: , , trailing@example.com,
Bcc: "unterminated <x@y>
In-Reply-To: <a@b> <c@d>
Subject: odd addresses
Date: Fri, 01 Dec 2023 00:17:00 +0000

Addresses.
""")

add("041", """From: dates@example.com
To: reader@example.com
Subject: Message-ID folding and no Date
Message-ID:
 <folded-id@example.com>
In-Reply-To: <parent@example.com>
	(comment after)
References: <a@example.com>
 <b@example.com>

No Date header here.
""")

add("042", """From: ct@example.com
To: reader@example.com
Subject: odd content types
Date: Fri, 01 Dec 2023 00:18:00 +0000
MIME-Version: 1.0
Content-Type: Multipart/Mixed; Boundary="ODD"

--ODD
Content-Type: TEXT/HTML; CHARSET=UTF-8

<p>upper case type</p>
--ODD
Content-Type: text

type without subtype
--ODD
Content-Type:

empty content type
--ODD
Content-Type: foo

not a valid type
--ODD
Content-Type: application/x-thing; =bad; name="ok"; broken

params with junk
--ODD
Content-Type: text/plain; charset="unterminated

unterminated quoted param
--ODD
Content-Type: image/ (comment) ; name=x.gif

slash but no subtype
--ODD--
""")

add("043", """From: empty@example.com
To: reader@example.com
Subject: multipart with no parts
Date: Fri, 01 Dec 2023 00:19:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=none

preamble only
--none--
epilogue
""")

add("044", """From: emptyrfc822@example.com
To: reader@example.com
Subject: empty message/rfc822 part
Date: Fri, 01 Dec 2023 00:20:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=er

--er
Content-Type: message/rfc822

--er
Content-Type: message/rfc822

Subject: header only inner
--er--
""")

add("045", "From:folded@example.com\nTo : reader@example.com\nSubject: a very long subject line that has been folded\n\tmultiple times with tabs\n   and spaces   \n  and ends here\nDate: Fri, 01 Dec 2023\n\t00:21:00 +0000\nX-Empty:\nX-Spaces:   \n\nBody.\n")

add("046", b"From: mixed@example.com\r\nTo: reader@example.com\nSubject: mixed line endings\r\nDate: Fri, 01 Dec 2023 00:22:00 +0000\r\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=mx\r\n\r\n--mx\nContent-Type: text/plain\r\n\nline a\r\nline b\nline\rc\r\n--mx\r\nContent-Type: text/plain\n\r\nsecond\n--mx--\r\n", raw=True)

parts = "".join(f"--many\nContent-Type: text/plain; name=p{i}.txt\n\npart {i}\n" for i in range(60))
add("047", "From: many@example.com\nTo: reader@example.com\nSubject: 60 parts\nDate: Fri, 01 Dec 2023 00:23:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=many\n\n" + parts + "--many--\n")

add("048", """From: hdrint@example.com
To: reader@example.com
Subject: boundary inside part header, part without header
Date: Fri, 01 Dec 2023 00:24:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=hb

--hb
Content-Type: text/plain
X-Cut: the header is cut by the boundary
--hb

body directly after boundary, no header
--hb
No-Colon-Line
--hb--
""")

add("049", """From: ctemulti@example.com
To: reader@example.com
Subject: CTE on multipart and base64 message/rfc822
Date: Fri, 01 Dec 2023 00:25:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=cm
Content-Transfer-Encoding: base64

--cm
Content-Type: message/rfc822
Content-Transfer-Encoding: base64

RnJvbTogeEB5DQpTdWJqZWN0OiBpbm5lcg0KDQpib2R5DQo=
--cm
Content-Type: message/rfc822
Content-Transfer-Encoding: 8bit

From: inner@example.com
Subject: =?utf-8?q?inner_subject?=
Content-Type: text/plain; charset=utf-8

inner body
--cm--
""")

add("050", """Subject: no MIME-Version, Content-Type present
From: nomime@example.com
Content-Type: multipart/mixed; boundary=nm
Content-Transfer-Encoding: quoted-printable

--nm
Content-Type: text/html

<p>still parsed as MIME by Dovecot</p>
--nm--
""")

add("051", """Subject: non-MIME with Content-Type text/html but not MIME
From: nomime2@example.com
Content-Transfer-Encoding: base64
Content-Description: ignored without MIME

QUJD
""")

add("052", "From: x@example.com\nSubject: ends without newline\n\nlast line has no newline")

add("053", """From: rfc2046@example.com
To: reader@example.com
Subject: RFC 2046 5.1.1 sample
Date: Fri, 01 Dec 2023 00:26:00 +0000
MIME-Version: 1.0
Content-type: multipart/mixed; boundary="simple boundary"

This is the preamble.  It is to be ignored, though it
is a handy place for composition agents to include an
explanatory note to non-MIME conformant readers.

--simple boundary

This is implicitly typed plain US-ASCII text.
It does NOT end with a linebreak.
--simple boundary
Content-type: text/plain; charset=us-ascii

This is explicitly typed plain US-ASCII text.
It DOES end with a linebreak.

--simple boundary--

This is the epilogue.  It is also to be ignored.
""")

for name, data in sorted(msgs.items()):
    with open(os.path.join(OUT, name + ".eml"), "wb") as f:
        f.write(data)
print(len(msgs), "messages")

# --- second batch ---
msgs.clear()
s054 = "Subject: leaf\n\nleaf body\n"
for i in range(101):
    s054 = f"Subject: level {i}\nContent-Type: message/rfc822\n\n" + s054
add("054", "From: deep-rfc822@example.com\nTo: reader@example.com\nDate: Fri, 01 Dec 2023 00:27:00 +0000\n" + s054)

add("055", """From: eoh@example.com
To: reader@example.com
Subject: blank line directly before a boundary
Date: Fri, 01 Dec 2023 00:28:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

--b

--b
Content-Type: text/plain


--b
Content-Type: message/rfc822

--b
Content-Type: multipart/alternative; boundary=c

--b
X: y
--b--
""")

add("056", b"From: a@example.com\r\nSubject: headers end with a newline, no blank line\r\nDate: Fri, 01 Dec 2023 00:29:00 +0000\r\n", raw=True)

add("057", """From: outer@example.com
To: reader@example.com
Subject: embedded message with repeated fields
Date: Fri, 01 Dec 2023 00:30:00 +0000
MIME-Version: 1.0
Content-Type: message/rfc822

From: first@example.com
From: second@example.com
Cc: c1@example.com
Cc: c2@example.com
Subject: first
Subject: second
Sender: s@example.com
Message-ID: <m1@example.com>
Message-ID: <m2@example.com>

body
""")

add("058", """From: dots..in..local@example.com
Sender: .leading@example.com
Reply-To: trailing.@example.com
To: =?utf-8?q?Gr=C3=BCppe?=: x@example.com;, "Quoted Group": ;
Cc: "a\\\\b" <slash@example.com>, "many \\"quotes\\" \\"here\\" \\"x\\"" <q@example.com>, Name (comment) <c@example.com>
Bcc: <@route.example:user@example.com>, <@broken:>, user@example.com (trailing comment)
Subject:    leading and trailing spaces   
Date: Fri, 01 Dec 2023 00:31:00 +0000
In-Reply-To:
Message-ID: <id-with-"quotes"@example.com>

Address syntax.
""")

add("059", """From: b64@example.com
To: reader@example.com
Subject: base64 padding and QP line ends
Date: Fri, 01 Dec 2023 00:32:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=pad

--pad
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

QQ==
--pad
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

QUI=
--pad
Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

QU JD
 REVG	
--pad
Content-Type: text/plain
Content-Transfer-Encoding: quoted-printable

soft=
break and =E2=82=AC euro=20
trailing whitespace kept by =20  
--pad
Content-Type: text/plain
Content-Transfer-Encoding: base64
Content-Transfer-Encoding: quoted-printable

two CTE fields, the last one counts for BINARY=21
--pad
Content-Type: text/plain
Content-Transfer-Encoding:

empty CTE
--pad--
""")

add("060", b"From: lfqp@example.com\nTo: reader@example.com\nSubject: LF-only base64 and QP\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\nline one=\n continued\nline two=3D2\n\n--x\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAECAwQF\nBgcICQ==\n--x--\n", raw=True)

add("061", """Return-Path: <list-bounces@lists.example.org>
From: Member <member@example.net>
To: list@lists.example.org
Subject: [list] Re: Weekly sync notes
Date: Mon, 04 Dec 2023 10:00:00 +0100
Message-ID: <weekly-sync-reply@example.net>
In-Reply-To: <weekly-sync@example.org>
List-Id: Example list <list.lists.example.org>
List-Unsubscribe: <mailto:list-leave@lists.example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="===============1234567890=="

--===============1234567890==
Content-Type: multipart/signed; micalg=sha-256; protocol="application/pkcs7-signature"; boundary="----sig"

------sig
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Thanks, see you next week.
------sig
Content-Type: application/pkcs7-signature; name=smime.p7s
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename=smime.p7s

MIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwEAAKCAMIIF
------sig--

--===============1234567890==
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0
Content-Transfer-Encoding: 7bit
Content-Disposition: inline

_______________________________________________
list mailing list
--===============1234567890==--
""")

for name, data in sorted(msgs.items()):
    with open(os.path.join(OUT, name + ".eml"), "wb") as f:
        f.write(data)
print(len(msgs), "more messages")

# --- third batch ---
msgs.clear()
inner_b64 = b64(rnd(300))
add("062", f"""From: fwd@example.com
To: reader@example.com
Subject: Fwd: report with attachment
Date: Tue, 05 Dec 2023 09:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Forwarding the report =E2=80=94 see attachment.
--outer
Content-Type: message/rfc822; name="report.eml"
Content-Disposition: attachment; filename="report.eml"

From: origin@example.com
To: fwd@example.com
Subject: report
Date: Mon, 04 Dec 2023 18:00:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="inner"

--inner
Content-Type: text/plain
Content-Transfer-Encoding: quoted-printable

Report attached=2E
--inner
Content-Type: application/octet-stream; name="data.bin"
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="data.bin"

{inner_b64}
--inner--

--outer--
""")

longline = "x" * 40000
add("063", "From: long@example.com\nTo: reader@example.com\nSubject: long lines\nX-Long-Header: " + ("y" * 40000) + "\nDate: Tue, 05 Dec 2023 09:01:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=ll\n\n--ll\nContent-Type: text/plain\n\n" + longline + "\n--ll\nContent-Type: text/plain\n\nshort\n--ll" + ("z" * 100) + "\nContent-Type: text/plain\n\nafter a boundary line with 100 extra bytes\n--ll--\n")

add("064", b"From: cr@example.com\r\nTo: reader@example.com\r\nSubject: lone\rCR in subject\r\nDate: Tue, 05 Dec 2023 09:02:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=cr\r\n\r\n--cr\r\nContent-Type: text/plain\r\n\r\nline with lone \r CR\r\r\n--cr\r\nContent-Type: text/plain\r\n\r\nends with CR\r--cr--\r\n", raw=True)

add("065", "From: eightbit@example.com\nTo: reader@example.com\nSubject: 8-bit parameter values\nDate: Tue, 05 Dec 2023 09:03:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=eb\n\n--eb\nContent-Type: application/pdf; name=\"Rechnung März.pdf\"\nContent-Disposition: attachment; filename=\"Rechnung März.pdf\"\nContent-Description: Überweisung\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--eb\nContent-Type: text/plain; charset=\"utf-8\"; name=\"日本.txt\"\nContent-ID: <ümlaut@example.com>\n\ntext\n--eb--\n")

add("066", """From MAILER-DAEMON Tue Dec  5 09:04:00 2023
 continuation without a field
From: mbox@example.com
To: reader@example.com
Subject: mbox From line and a stray continuation
Date: Tue, 05 Dec 2023 09:04:00 +0000

Body.
""")

add("067", """From: types@example.com
To: reader@example.com
Subject: other message types
Date: Tue, 05 Dec 2023 09:05:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=mt

--mt
Content-Type: message/partial; id="abc@example.com"; number=1; total=2

From: part@example.com
Subject: partial

first half
--mt
Content-Type: message/external-body; access-type=URL;
 URL="http://example.com/file.bin"

Content-Type: application/octet-stream

--mt
Content-Type: message/rfc822
Content-Transfer-Encoding: 7bit
Content-Description: nested groups and comments

From: (lead) John (x) Doe <john@example.com> (tail)
To: Outer: Inner: a@example.com;, b@example.com;
Cc: "=?utf-8?q?Q=C3=BCoted?=" <q@example.com>, =?utf-8?q?Enc=C3=B6ded?= <e@example.com>
Subject: =?utf-8?q?inner?=
 =?utf-8?q?_folded?=
Date: Tue,
 05 Dec 2023 09:05:00 +0000
Message-ID: < spaced@example.com >

inner
--mt--
""")

add("068", """From: disp@example.com
To: reader@example.com
Subject: disposition and language oddities
Date: Tue, 05 Dec 2023 09:06:00 +0000
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=dl

--dl
Content-Type: text/plain
Content-Disposition: ; filename=nodisp.txt
Content-Language: en (English), de-CH

a
--dl
Content-Type: text/plain
Content-Disposition: ATTACHMENT; FILENAME=upper.txt; size=1
Content-Language:
Content-Location:  http://example.com/a%20b
	/c

b
--dl
Content-Type: text/plain
Content-Disposition: inline
Content-Disposition: attachment; filename=second.txt
Content-MD5: 
Content-ID:

c
--dl--
""")

add("069", """Subject: boundary parameter oddities
From: bp@example.com
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="with space "

--with space 
Content-Type: text/plain

one
--with space
Content-Type: text/plain

two (boundary line without the trailing space)
--with space --
""")

for name, data in sorted(msgs.items()):
    with open(os.path.join(OUT, name + ".eml"), "wb") as f:
        f.write(data)
print(len(msgs), "third batch")
