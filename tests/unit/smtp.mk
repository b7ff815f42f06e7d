# Unit tests of the SMTP example (examples/smtpd): the message text and
# maildir machinery alone, the generated parser against
# tests/unit/cases/smtp.cases, whole sessions over the in-memory transport,
# and the fuzz target (tests/fuzz/fuzz_smtp.c).
CTESTS += test_smtp_body
test_smtp_body_SRCS := tests/unit/test_smtp_body.c \
                       examples/smtpd/msgbody.c examples/smtpd/maildir.c
CTESTS += test_smtp_session
test_smtp_session_SRCS := tests/unit/test_smtp_session.c \
                          examples/smtpd/smtpd.c examples/smtpd/msgbody.c \
                          examples/smtpd/maildir.c
test_smtp_session_SPECS := smtp
CTESTS += test_smtp_parser
test_smtp_parser_SRCS := tests/unit/test_smtp_parser.c tests/unit/spec_cases.c examples/smtpd/msgbody.c
test_smtp_parser_SPECS := smtp
FUZZERS += fuzz_smtp
fuzz_smtp_SRCS := tests/fuzz/fuzz_smtp.c examples/smtpd/smtpd.c \
                  examples/smtpd/msgbody.c examples/smtpd/maildir.c
fuzz_smtp_SPECS := smtp
