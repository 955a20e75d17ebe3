"""Personal data out of everything a call stores, before the store sees it.

- redact: masking text (numbers read out, ID and bank cards, names, addresses), the caller-number hash
- speech_fields: which record fields carry what someone said (dataclass field metadata "speech"), walked
  generically so a new text field is masked, or refused by a test, without editing this stage
- protect: the stage itself (protect_call), the salt of the caller-number hash, PrivacySettings
"""
