public enum MailReaderPlaceholder {}
