import random, base64, sys, os
seed=int(sys.argv[1]); n=int(sys.argv[2]); out=sys.argv[3]
R=random.Random(seed)
def ch(*a): return R.choice(a)
def words(k): return " ".join(R.choice(["alpha","beta","Gamma","déjà","naïve","x","y=z","quote\"d","back\\slash","tab\there","日本","émoji😀"]) for _ in range(k))
def ew(s):
    b=s.encode()
    return ch("=?UTF-8?B?"+base64.b64encode(b).decode()+"?=", "=?utf-8?q?"+"".join(c if c.isalnum() and ord(c)<128 else "=%02X"%ord(c) if ord(c)<256 else "_" for c in s)+"?=", s, "=?iso-8859-1?Q?caf=E9?=", "=?bogus?X?junk?=")
def addr():
    return ch("user%d@example.com"%R.randint(1,9), "\"Name %d\" <u%d@ex.org>"%(R.randint(1,9),R.randint(1,9)),
              ew("Näme")+" <n@ex.org>", "Group: a@b.c, d@e.f;", "undisclosed-recipients:;", "<@route:x@y.z>", "broken <unterminated",
              "a@b c@d", ",,x@y", "(comment) z@w.v (other)", "\"q\\\"uoted\"@ex.com", "dots..x@y.z", "<>", "no-at-sign", "@")
def field(name, val):
    if R.random()<0.2: # fold
        parts=val.split(" ")
        if len(parts)>1:
            k=R.randint(1,len(parts)-1)
            val=" ".join(parts[:k])+ch("\n ","\n\t")+" ".join(parts[k:])
    sep=ch(": ",":",": ","  : ")
    return name+sep+val+"\n"
def params():
    p=""
    for _ in range(R.randint(0,3)):
        p+=ch("; name=\"%s\""%words(1), "; charset=%s"%ch("utf-8","ISO-8859-1","us-ascii","\"UTF-8\""), "; x*0*=utf-8''%C3%A9; x*1=tail",
              "; filename*=utf-8''r%C3%A9sum%C3%A9.txt", ";junk", "; a=\"unterminated", "; format=flowed", "; NAME=Upper")
    return p
def body_for(cte, text):
    if cte=="base64":
        e=base64.b64encode(text.encode()).decode()
        e="\n".join(e[i:i+40] for i in range(0,len(e),40))
        if R.random()<0.15: e=e[:-1]
        if R.random()<0.1: e+="*"
        return e
    if cte=="quoted-printable":
        s="".join(c if (32<=ord(c)<127 and c!="=") or c=="\n" else "".join("=%02X"%b for b in c.encode()) for c in text)
        if R.random()<0.2: s+=ch("=ZZ","= \n","=\n","   ","=")
        return s
    return text
def leaf(depth):
    h=""
    t=ch("text/plain","text/html","application/octet-stream","image/png","TEXT/Plain","text","","application/pdf","message/delivery-status","text/calendar")
    if t or R.random()<0.5:
        h+=field("Content-Type", (t or "")+params())
    cte=ch(None,"7bit","8bit","base64","quoted-printable","binary","x-unknown","","BASE64","Quoted-Printable (c)")
    if cte is not None: h+=field("Content-Transfer-Encoding", cte)
    for _ in range(R.randint(0,2)):
        h+=ch(field("Content-Disposition", ch("attachment","inline","")+params()), field("Content-ID","<id%d@x>"%R.randint(1,99)),
              field("Content-Description", words(2)), field("Content-Language", ch("en","en, fr","de (German)")), field("Content-Location","http://x/y"),
              field("Content-MD5","abc=="), "No-Colon-Line\n", field("X-Dup","1"))
    text="\n".join(words(R.randint(0,6)) for _ in range(R.randint(0,4)))
    return h, body_for((cte or "").lower().split(" ")[0], text)
def entity(depth, boundaries):
    r=R.random()
    if depth<4 and r<0.35:
        b=ch("b%d"%depth, "=_b%d"%R.randint(0,99), (boundaries[-1]+"x") if boundaries else "q", boundaries[-1] if boundaries else "same", "with space", "")
        h=field("Content-Type", ch("multipart/mixed","multipart/alternative","multipart/digest","Multipart/Related")+"; boundary=\"%s\""%b+params())
        if R.random()<0.1: h=field("Content-Type","multipart/mixed")
        s=""
        if R.random()<0.3: s+="preamble "+words(2)+"\n"
        k=R.randint(0,4)
        for i in range(k):
            pad=ch("","","  ","\t")
            s+="--"+b+pad+"\n"
            ch_h, ch_b = entity(depth+1, boundaries+[b])
            if R.random()<0.1: ch_h=ch_h.rstrip("\n")+"\n--"+b+"\n"  # boundary inside header
            s+=ch_h+("\n" if R.random()<0.93 else "")+ch_b+("\n" if R.random()<0.8 else "")
            if R.random()<0.1: s+="\n"
        if R.random()<0.85: s+="--"+b+"--"+ch("","  ")+"\n"
        if R.random()<0.3: s+="epilogue "+words(2)+"\n"
        return h, s
    if depth<4 and r<0.5:
        h=field("Content-Type", ch("message/rfc822","message/rfc822","message/global","Message/RFC822"))
        if R.random()<0.2: h+=field("Content-Transfer-Encoding", ch("7bit","base64","8bit"))
        ih, ib = message(depth+1, boundaries)
        return h, ih+("\n" if R.random()<0.9 else "")+ib
    return leaf(depth)
def message(depth, boundaries):
    h=""
    for name in R.sample(["From","To","Cc","Bcc","Reply-To","Sender","Subject","Date","Message-ID","In-Reply-To","MIME-Version","X-Mailer"], R.randint(2,9)):
        if name in ("From","To","Cc","Bcc","Reply-To","Sender"): v=", ".join(addr() for _ in range(R.randint(1,3)))
        elif name=="Subject": v=ew(words(R.randint(0,4))) + ch(""," "+words(2),"  ")
        elif name=="Date": v=ch("Tue, 05 Dec 2023 09:05:00 +0000","5 Dec 2023 09:05 GMT","garbage date","")
        elif name=="Message-ID": v=ch("<a@b>","< spaced@x >","noangle@x","")
        elif name=="MIME-Version": v="1.0"
        else: v=words(2)
        h+=field(name,v)
        if R.random()<0.1: h+=field(name,v+"2")
    eh, eb = entity(depth, boundaries)
    return h+eh, eb
for i in range(n):
    h,b=message(0,[])
    s=h+("\n" if R.random()<0.95 else "")+b
    style=R.random()
    data=s.encode()
    if style<0.7: data=data.replace(b"\n",b"\r\n")
    elif style<0.85: pass
    else:
        lines=data.split(b"\n"); data=b"".join(l+ch(b"\r\n",b"\n",b"\r\r\n",b"\r\n") for l in lines)
    if R.random()<0.1: data=data.rstrip(b"\r\n")
    open(os.path.join(out,"%03d.eml"%i),"wb").write(data)
