# weft-smtpd: the SMTP receiver built from spec/smtp.weft (docs/smtp.md).
SMTPD_SRCS := examples/smtpd/smtpd.c examples/smtpd/msgbody.c \
              examples/smtpd/maildir.c
PROGRAMS += weft-smtpd
weft-smtpd_SRCS  := examples/smtpd/main.c $(SMTPD_SRCS) $(CLI_SRCS)
weft-smtpd_SPECS := smtp
