"""Text helpers every stage after the transcript shares; they import nothing of the pipeline.

- matching: finding a phrase in what was said, tolerant of ASR near-homophones (pinyin) and filler
- personal_data: finding personal data in Chinese speech (numbers read out, ID and bank cards, names,
  addresses); the checks use it to credit facts given, the privacy stage to mask them
- numbers: digit runs (spoken, full-width, grouped) and their kinds (phone, ID card, bank card, number)
- paused_numbers: a mobile, ID or bank number read with pauses, within a text and across a speaker's texts
"""
