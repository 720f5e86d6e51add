"""Built-in tasks load to exactly the rows they loaded to before the move to packaged YAML.

The fingerprint is part of every cache key: a change here silently invalidates every user's cached results.
FROZEN was recorded from the offline data (../shared/data) with the Python loaders (tasks/builtin.py) that
the YAML specs replaced; HUB from those loaders' Hugging Face formatters on the fake Hub rows below.
PAIRWISE pins the pairwise built-ins added later (reward modelling) the same way, from their first version.
Re-pinned once, on purpose (issue 24, passages): quail, cosmos_qa (and cosmos_qa_pairs) and mc_taco group a
passage's questions into one split unit (quail by context_id, cosmos_qa by context, mc_taco by sentence) and key
questions apart (`question:`); their rows' texts and labels are as before, their groups and fingerprints are new.
"""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest

from w2sg.tasks import get_task, list_tasks, load_task
from w2sg.tasks.rows import fingerprint

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

# name: (fingerprint, pool rows, test rows or None, first 3 pool rows, first 3 test rows);
# a row is (id, group, label, sha256(text)[:16]).
FROZEN = {'boolq': ('ece889aae3a9c7aa',
           3270,
           None,
           [('boolq/boolq_validation.json/2/0', 'boolq/boolq_validation.json/2/0', 0, 'cd05f3a70626f968'),
            ('boolq/boolq_validation.json/7/0', 'boolq/boolq_validation.json/7/0', 1, '389095539adcfc99'),
            ('boolq/boolq_validation.json/12/0', 'boolq/boolq_validation.json/12/0', 1, 'd1b1ecc7d98a68c8')],
           []),
 'cosmos_qa': ('30b8c4e4f2a656d6',
               10769,
               None,
               [('cosmos_qa/valid.csv/2/0',
                 'Do i need to go for a legal divorce ? I wanted to marry a woman but she is not in the same religion '
                 ', so i am not concern of the marriage inside church . I will do the marriage registered with the '
                 'girl who i am going to get married . But legally will there be any complication , like if the other '
                 'woman comes back one day , will the girl who i am going to get married now will be in trouble or Is '
                 'there any complication ?',
                 0,
                 '8f3a02e7e93b1e82'),
                ('cosmos_qa/valid.csv/2/1',
                 'Do i need to go for a legal divorce ? I wanted to marry a woman but she is not in the same religion '
                 ', so i am not concern of the marriage inside church . I will do the marriage registered with the '
                 'girl who i am going to get married . But legally will there be any complication , like if the other '
                 'woman comes back one day , will the girl who i am going to get married now will be in trouble or Is '
                 'there any complication ?',
                 1,
                 '41c09a6cd40cca09'),
                ('cosmos_qa/valid.csv/2/2',
                 'Do i need to go for a legal divorce ? I wanted to marry a woman but she is not in the same religion '
                 ', so i am not concern of the marriage inside church . I will do the marriage registered with the '
                 'girl who i am going to get married . But legally will there be any complication , like if the other '
                 'woman comes back one day , will the girl who i am going to get married now will be in trouble or Is '
                 'there any complication ?',
                 0,
                 '78c0b608f365badf')],
               []),
 'ethics_commonsense': ('9f4d15a8485c4fbc',
                        3885,
                        3964,
                        [('ethics_commonsense/cm_test.csv/2/0',
                          'ethics_commonsense/cm_test.csv/2/0',
                          0,
                          'c10410e6a6641f04'),
                         ('ethics_commonsense/cm_test.csv/3/0',
                          'ethics_commonsense/cm_test.csv/3/0',
                          1,
                          '26b42b2b5059dd00'),
                         ('ethics_commonsense/cm_test.csv/4/0',
                          'ethics_commonsense/cm_test.csv/4/0',
                          0,
                          '2c4656c1197a54ff')],
                        [('ethics_commonsense/cm_test_hard.csv/2/0',
                          'ethics_commonsense/cm_test_hard.csv/2/0',
                          0,
                          '59f547a01de85a99'),
                         ('ethics_commonsense/cm_test_hard.csv/3/0',
                          'ethics_commonsense/cm_test_hard.csv/3/0',
                          1,
                          '138bace16d530776'),
                         ('ethics_commonsense/cm_test_hard.csv/4/0',
                          'ethics_commonsense/cm_test_hard.csv/4/0',
                          0,
                          '8a24933fc1f45057')]),
 'ethics_deontology': ('dddb65aca14ad70d',
                       17603,
                       3596,
                       [('ethics_deontology/deontology_train.csv/2/0',
                         "Aren't you supposed to be preparing for the meeting?",
                         0,
                         'b79876051c53248b'),
                        ('ethics_deontology/deontology_train.csv/3/0',
                         "Aren't you supposed to be preparing for the meeting?",
                         1,
                         '2a7c6e2311d5f530'),
                        ('ethics_deontology/deontology_train.csv/4/0',
                         "Aren't you supposed to be preparing for the meeting?",
                         0,
                         '1d146fd0d12d48ca')],
                       [('ethics_deontology/deontology_test.csv/2/0',
                         "Aren't you supposed to be painting the house?",
                         0,
                         'b0daf92bc81e723d'),
                        ('ethics_deontology/deontology_test.csv/3/0',
                         "Aren't you supposed to be painting the house?",
                         1,
                         '4c4b52674087baae'),
                        ('ethics_deontology/deontology_test.csv/4/0',
                         "Aren't you supposed to be painting the house?",
                         1,
                         '08b2030d65d1fd40')]),
 'ethics_justice': ('34f949b70285f710',
                    21781,
                    2704,
                    [('ethics_justice/justice_train.csv/2/0',
                      'ethics_justice/justice_train.csv/2/0',
                      1,
                      '490b31897ba03059'),
                     ('ethics_justice/justice_train.csv/3/0',
                      'ethics_justice/justice_train.csv/3/0',
                      0,
                      'a4b450044538b4e5'),
                     ('ethics_justice/justice_train.csv/4/0',
                      'ethics_justice/justice_train.csv/4/0',
                      0,
                      '90cb5c8fff15c13e')],
                    [('ethics_justice/justice_test.csv/2/0',
                      'ethics_justice/justice_test.csv/2/0',
                      1,
                      '82acaf9c7352d736'),
                     ('ethics_justice/justice_test.csv/3/0',
                      'ethics_justice/justice_test.csv/3/0',
                      0,
                      '3bc0296f0b3928cb'),
                     ('ethics_justice/justice_test.csv/4/0',
                      'ethics_justice/justice_test.csv/4/0',
                      1,
                      '653bebdfb5c2b1de')]),
 'ethics_utilitarianism': ('f9e7774922f47d30',
                           13654,
                           4807,
                           [('ethics_utilitarianism/util_train.csv/1/0',
                             'ethics_utilitarianism/util_train.csv/1/0',
                             0,
                             '4da111317bb58a5f'),
                            ('ethics_utilitarianism/util_train.csv/2/0',
                             'ethics_utilitarianism/util_train.csv/2/0',
                             0,
                             '4068eb27843c04b7'),
                            ('ethics_utilitarianism/util_train.csv/3/0',
                             'ethics_utilitarianism/util_train.csv/3/0',
                             1,
                             '0c4ac4d3b2a82849')],
                           [('ethics_utilitarianism/util_test.csv/1/0',
                             'ethics_utilitarianism/util_test.csv/1/0',
                             0,
                             'efe5d0c926b5411b'),
                            ('ethics_utilitarianism/util_test.csv/2/0',
                             'ethics_utilitarianism/util_test.csv/2/0',
                             0,
                             '0708b2b59c4d2aac'),
                            ('ethics_utilitarianism/util_test.csv/3/0',
                             'ethics_utilitarianism/util_test.csv/3/0',
                             1,
                             'b4491d724b4edecc')]),
 'ethics_virtue': ('b655ab406c413b28',
                   24993,
                   4975,
                   [('ethics_virtue/virtue_train.csv/2/0',
                     'Jill wore a new style of distinctive clothes each six months for decades.',
                     0,
                     '1b3f78cb7e5ba81b'),
                    ('ethics_virtue/virtue_train.csv/3/0',
                     'Jill wore a new style of distinctive clothes each six months for decades.',
                     0,
                     'fbea4179ff7db946'),
                    ('ethics_virtue/virtue_train.csv/4/0',
                     'Jill wore a new style of distinctive clothes each six months for decades.',
                     0,
                     '0077e7a01a1e9afe')],
                   [('ethics_virtue/virtue_test.csv/2/0',
                     'Martha hired a new babysitter and was totally at ease with her.',
                     1,
                     '9572b4d124d9a4b4'),
                    ('ethics_virtue/virtue_test.csv/3/0',
                     'Martha hired a new babysitter and was totally at ease with her.',
                     0,
                     '719faa3d6a0c1cff'),
                    ('ethics_virtue/virtue_test.csv/4/0',
                     'Martha hired a new babysitter and was totally at ease with her.',
                     0,
                     '14913f2b2ae04541')]),
 'mc_taco': ('2a5c1d00ffe3cb30',
             9442,
             3782,
             [('mc_taco/test_9442.tsv/1/0',
               "Durer's father died in 1502, and his mother died in 1513.",
               0,
               'c6aab3ec8f6b79cb'),
              ('mc_taco/test_9442.tsv/2/0',
               "Durer's father died in 1502, and his mother died in 1513.",
               0,
               '26649d02b726571b'),
              ('mc_taco/test_9442.tsv/3/0',
               "Durer's father died in 1502, and his mother died in 1513.",
               0,
               '84376c219a565027')],
             [('mc_taco/dev_3783.tsv/1/0',
               'Islam later emerged as the majority religion during the centuries of Ottoman rule, though a '
               'significant Christian minority remained.',
               0,
               'ab0b833f06ad5aac'),
              ('mc_taco/dev_3783.tsv/2/0',
               'Islam later emerged as the majority religion during the centuries of Ottoman rule, though a '
               'significant Christian minority remained.',
               1,
               '1b24cadc5c6401e9'),
              ('mc_taco/dev_3783.tsv/3/0',
               'Islam later emerged as the majority religion during the centuries of Ottoman rule, though a '
               'significant Christian minority remained.',
               0,
               '0c2fc8e8996faa75')]),
 'quail': ('bb0b1fcaea42bace',
           8643,
           None,
           [('quail/quail_1.3_dev.xml/f141_1/0', 'f141', 1, 'c025085e19e7018f'),
            ('quail/quail_1.3_dev.xml/f141_1/1', 'f141', 0, '05017119bbca5f80'),
            ('quail/quail_1.3_dev.xml/f141_1/2', 'f141', 0, 'de45cc2b4491e7e3')],
           []),
 'sciq': ('cad92af9ac082d73',
          25283,
          2000,
          [('sciq/sciq_train.jsonl/1/0',
            'What type of organism is commonly used in preparation of foods such as cheese and yogurt?',
            1,
            '86e1e2b42d4c7842'),
           ('sciq/sciq_train.jsonl/1/1',
            'What type of organism is commonly used in preparation of foods such as cheese and yogurt?',
            0,
            '2a6fd2b1608ba8ca'),
           ('sciq/sciq_train.jsonl/2/0',
            'What phenomenon makes global winds blow northeast to southwest or the reverse in the northern '
            'hemisphere and northwest to southeast or the reverse in the southern hemisphere?',
            1,
            '660e8076ea489f16')],
          [('sciq/sciq_test.jsonl/1/0',
            'Compounds that are capable of accepting electrons, such as o 2 or f2, are called what?',
            1,
            '9d36ccf199f4b3b1'),
           ('sciq/sciq_test.jsonl/1/1',
            'Compounds that are capable of accepting electrons, such as o 2 or f2, are called what?',
            0,
            '201d201dc4efc2e7'),
           ('sciq/sciq_test.jsonl/2/0',
            'What term in biotechnology means a genetically exact copy of an organism?',
            1,
            'd1c9e30653946198')]),
 'sst2': ('2f5c0fc803f77391',
          66973,
          872,
          [('sst2/train.tsv/2/0', 'sst2/train.tsv/2/0', 0, '35c1cdf815353a82'),
           ('sst2/train.tsv/3/0', 'sst2/train.tsv/3/0', 0, 'eb85e9bae9958be6'),
           ('sst2/train.tsv/4/0', 'sst2/train.tsv/4/0', 1, 'e432a08ab8fde6c3')],
          [('sst2/dev.tsv/2/0', 'sst2/dev.tsv/2/0', 1, 'ea8217220448a4c1'),
           ('sst2/dev.tsv/3/0', 'sst2/dev.tsv/3/0', 0, '0362dbc7582dabe8'),
           ('sst2/dev.tsv/4/0', 'sst2/dev.tsv/4/0', 1, '99f64085fbd83c55')]),
 'twitter_sentiment': ('c52787be60dfb444',
                       6347,
                       1131,
                       [('twitter_sentiment/test_text.txt/4/0',
                         'twitter_sentiment/test_text.txt/4/0',
                         1,
                         'bc87a9dd80e97c78'),
                        ('twitter_sentiment/test_text.txt/5/0',
                         'twitter_sentiment/test_text.txt/5/0',
                         0,
                         '048d4ca0dbe5595a'),
                        ('twitter_sentiment/test_text.txt/8/0',
                         'twitter_sentiment/test_text.txt/8/0',
                         1,
                         'cb2d04130b290d3f')],
                       [('twitter_sentiment/val_text.txt/2/0',
                         'twitter_sentiment/val_text.txt/2/0',
                         1,
                         '253e534762885b45'),
                        ('twitter_sentiment/val_text.txt/3/0',
                         'twitter_sentiment/val_text.txt/3/0',
                         0,
                         'd5707db46d51fe84'),
                        ('twitter_sentiment/val_text.txt/7/0',
                         'twitter_sentiment/val_text.txt/7/0',
                         1,
                         'e00a2071fd36baa7')]),
 'wic': ('8eab8ae661fd2d5e',
         5228,
         200,
         [('wic/train.jsonl/1/0', 'wic/train.jsonl/1/0', 1, 'c78dcb62b0dbc094'),
          ('wic/train.jsonl/2/0', 'wic/train.jsonl/2/0', 0, '7a58e6a6b82949f0'),
          ('wic/train.jsonl/3/0', 'wic/train.jsonl/3/0', 1, '91afbbdbc01c1405')],
         [('wic/test.jsonl/1/0', 'wic/test.jsonl/1/0', 0, '1e28b4d170ea8c64'),
          ('wic/test.jsonl/2/0', 'wic/test.jsonl/2/0', 1, '8bc29bd2be4dc28f'),
          ('wic/test.jsonl/3/0', 'wic/test.jsonl/3/0', 1, '24cd38f6e88a738d')])}

# The pairwise built-ins, as FROZEN (every row carries a comparison; its text renders it).
PAIRWISE = {'cosmos_qa_pairs': ('87824a33cbbba5e9',
                     8872,
                     None,
                     [('cosmos_qa_pairs/cosmos_qa/valid.csv/2/1>0',
                       'Do i need to go for a legal divorce ? I wanted to marry a woman but she is not in the same '
                       'religion , so i am not concern of the marriage inside church . I will do the marriage '
                       'registered with the girl who i am going to get married . But legally will there be any '
                       'complication , like if the other woman comes back one day , will the girl who i am going to '
                       'get married now will be in trouble or Is there any complication ?',
                       1,
                       '09735dd64bebf827'),
                      ('cosmos_qa_pairs/cosmos_qa/valid.csv/2/1>2',
                       'Do i need to go for a legal divorce ? I wanted to marry a woman but she is not in the same '
                       'religion , so i am not concern of the marriage inside church . I will do the marriage '
                       'registered with the girl who i am going to get married . But legally will there be any '
                       'complication , like if the other woman comes back one day , will the girl who i am going to '
                       'get married now will be in trouble or Is there any complication ?',
                       0,
                       '164c8a1db2447dc1'),
                      ('cosmos_qa_pairs/cosmos_qa/valid.csv/2/1>3',
                       'Do i need to go for a legal divorce ? I wanted to marry a woman but she is not in the same '
                       'religion , so i am not concern of the marriage inside church . I will do the marriage '
                       'registered with the girl who i am going to get married . But legally will there be any '
                       'complication , like if the other woman comes back one day , will the girl who i am going to '
                       'get married now will be in trouble or Is there any complication ?',
                       1,
                       'ddb582c7f4d22b87')],
                     []),
 'ethics_utilitarianism_pairs': ('6eb9a33f7506b0ec',
                                 13577,
                                 4802,
                                 [('ethics_utilitarianism_pairs/util_train.csv/1/0',
                                   'ethics_utilitarianism_pairs/util_train.csv/1/0',
                                   1,
                                   'fae9d3b0e671fab8'),
                                  ('ethics_utilitarianism_pairs/util_train.csv/2/0',
                                   'ethics_utilitarianism_pairs/util_train.csv/2/0',
                                   0,
                                   'c4a300a7f05b104a'),
                                  ('ethics_utilitarianism_pairs/util_train.csv/3/0',
                                   'ethics_utilitarianism_pairs/util_train.csv/3/0',
                                   0,
                                   '8d21a18ba09ad9b8')],
                                 [('ethics_utilitarianism_pairs/util_test.csv/1/0',
                                   'ethics_utilitarianism_pairs/util_test.csv/1/0',
                                   1,
                                   '81fc547812ee8706'),
                                  ('ethics_utilitarianism_pairs/util_test.csv/2/0',
                                   'ethics_utilitarianism_pairs/util_test.csv/2/0',
                                   1,
                                   '9f8c8a7910272591'),
                                  ('ethics_utilitarianism_pairs/util_test.csv/3/0',
                                   'ethics_utilitarianism_pairs/util_test.csv/3/0',
                                   0,
                                   '179ea0b76d3ae97f')]),
 'hh_rlhf': ('604f6cdb8c031046',
             2312,
             None,
             [('hh_rlhf/harmless-base-test.jsonl.gz/1/0', 'hh:391d82812a7fb869', 1, '2c4f4dffa679601d'),
              ('hh_rlhf/harmless-base-test.jsonl.gz/2/0', 'hh:bba3994b426247b0', 1, '291c34cb6f76abef'),
              ('hh_rlhf/harmless-base-test.jsonl.gz/3/0', 'hh:a335c0ca8f8cbb6d', 1, 'd587d99ec8c8c400')],
             []),
 'sciq_pairs': ('fe79ab9be9eac709',
                12714,
                1000,
                [('sciq_pairs/sciq/sciq_train.jsonl/1/0>1',
                  'What type of organism is commonly used in preparation of foods such as cheese and yogurt?',
                  0,
                  '2b6a1f6dcee16238'),
                 ('sciq_pairs/sciq/sciq_train.jsonl/2/0>1',
                  'What phenomenon makes global winds blow northeast to southwest or the reverse in the northern '
                  'hemisphere and northwest to southeast or the reverse in the southern hemisphere?',
                  1,
                  '17d08af6b0b35e72'),
                 ('sciq_pairs/sciq/sciq_train.jsonl/3/0>1',
                  'Changes from a less-ordered state to a more-ordered state (such as a liquid to a solid) are always '
                  'what?',
                  1,
                  'c7366343f2da46b0')],
                [('sciq_pairs/sciq/sciq_test.jsonl/1/0>1',
                  'Compounds that are capable of accepting electrons, such as o 2 or f2, are called what?',
                  1,
                  'dd4ab7e5dc668311'),
                 ('sciq_pairs/sciq/sciq_test.jsonl/2/0>1',
                  'What term in biotechnology means a genetically exact copy of an organism?',
                  1,
                  'aa2bccd4a178c94e'),
                 ('sciq_pairs/sciq/sciq_test.jsonl/3/0>1',
                  'Vertebrata are characterized by the presence of what?',
                  1,
                  '05d82b4c87a9b0cd')])}

# name: (fingerprint of the raw (pool, test) rows before dedup, pool rows, test rows) on fake_hub()
HUB = {'boolq': ('cd3099a7f68dd0e8', 4, 4),
 'cosmos_qa': ('2af3c4d816db6028', 20, 20),
 'ethics_commonsense': ('74c9f9882da2138b', 6, 6),
 'ethics_deontology': ('1b56bb46e12873c7', 6, 6),
 'ethics_justice': ('91d528bad9fde8e8', 6, 6),
 'ethics_utilitarianism': ('d36e096544ac1142', 6, 6),
 'ethics_virtue': ('dbc9ab6147d55dc9', 6, 6),
 'mc_taco': ('9721f2af66ca053a', 6, 6),
 'quail': ('ac7c421ee591691d', 16, 16),
 'sciq': ('d57c4f57968546d2', 10, 10),
 'sst2': ('1fb0a014d449bb2f', 3, 2),
 'twitter_sentiment': ('30a181eddbe55c06', 4, 4),
 'wic': ('396f03ffbe0b62c5', 3, 3),
 'cosmos_qa_pairs': ('a1b557e0764548d8', 27, 27),
 'ethics_utilitarianism_pairs': ('41db69652e977f1f', 6, 6),
 'hh_rlhf': ('8a1c24724475f14b', 4, 4),
 'sciq_pairs': ('f19bb24127fdc816', 5, 5)}


def fake_hub() -> dict:
    def ethics(make):
        return {s: [make(i, s) for i in range(6)] for s in ("train", "validation")}

    return {
        ("stanfordnlp/sst2", None): {
            "train": [{"sentence": "great film ", "label": 1}, {"sentence": "bad", "label": 0},
                      {"sentence": "unlabelled", "label": -1}, {"sentence": "fine", "label": 1}],
            "validation": [{"sentence": "ok", "label": 1}, {"sentence": "meh", "label": -1},
                           {"sentence": "no", "label": 0}],
        },
        ("allenai/sciq", None): {s: [{"question": f" Q{i}{s} ", "correct_answer": f"a{i}", "distractor1": f"b{i}",
                                      "distractor2": f"c{i}", "distractor3": f"d{i}", "support": ""}
                                     for i in range(5)] for s in ("train", "test")},
        ("google/boolq", None): {s: [{"question": f"is it {i}{s}", "answer": i % 2 == 0, "passage": f"P{i}"}
                                     for i in range(4)] for s in ("train", "validation")},
        ("allenai/cosmos_qa", None): {s: [{"id": f"id{i}", "context": f"C{i // 2}{s}", "question": f"Q{i // 2}",
                                           **{f"answer{k}": f"A{i}{k}" for k in range(4)},
                                           "label": -1 if i == 3 else i % 4} for i in range(6)]
                                      for s in ("train", "validation")},
        ("textmachinelab/quail", None): {s: [{"id": f"d{i}_q{i}{s}", "context_id": f"d{i // 2}{s}",
                                              "context": f" Passage {i // 2}{s}",
                                              "question": f"Q{i}?",
                                              "answers": [f"x{i}", f"y{i}", f"z{i}", f"w{i}"],
                                              "correct_answer_id": i % 4} for i in range(4)]
                                         for s in ("train", "validation")},
        ("CogComp/mc_taco", None): {s: [{"sentence": f"S{i // 3}{s}", "question": f"Q{i // 3}", "answer": f"a{i}",
                                         "label": i % 2, "category": "Event Duration"} for i in range(6)]
                                    for s in ("test", "validation")},
        ("hendrycks/ethics", "justice"): ethics(lambda i, s: {"label": i % 2, "scenario": f"J{i}{s}"}),
        ("hendrycks/ethics", "deontology"): ethics(lambda i, s: {"label": i % 2, "scenario": f"D{i // 2}{s}",
                                                                 "excuse": f"e{i}"}),
        ("hendrycks/ethics", "virtue"): ethics(lambda i, s: {"label": int(i % 3 == 0),
                                                             "scenario": f"V{i // 3}{s} [SEP] trait{i}"}),
        ("hendrycks/ethics", "utilitarianism"): ethics(lambda i, s: {"baseline": f"good{i}{s}",
                                                                     "less_pleasant": f"bad{i}{s}"}),
        ("hendrycks/ethics", "commonsense"): ethics(lambda i, s: {"label": i % 2, "input": f"I did {i}{s}."}),
        ("aps/super_glue", "wic"): {s: [{"word": f"w{i}", "sentence1": f"one {i}{s} .", "sentence2": f"two {i} .",
                                         "label": -1 if i == 2 else i % 2, "idx": i} for i in range(4)]
                                    for s in ("train", "validation")},
        ("cardiffnlp/tweet_eval", "sentiment"): {s: [{"text": f"{s} tweet {i}", "label": i % 3} for i in range(6)]
                                                 for s in ("train", "test")},
        ("Anthropic/hh-rlhf", None): {s: [{"chosen": f"\n\nHuman: q{i}{s}?\n\nAssistant: sure {i}.",
                                           "rejected": f"\n\nHuman: q{i}{s}?\n\nAssistant: no {i}!"}
                                          for i in range(4)]
                                      + [{"chosen": "\n\nHuman: same\n\nAssistant: x ", "rejected":
                                          "\n\nHuman: same\n\nAssistant: x"},  # same final turn: dropped
                                         {"chosen": "Human: a", "rejected": "Human: b"}]  # no split: dropped
                                      for s in ("train", "test")},
    }


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# The generated built-ins (tasks/chains.py): fingerprint, pool rows, test rows; no data directory involved.
GENERATED = {"chains": ("2a28afb16fd13c06", 8544, 2816), "chains_outcome": ("d6e031027f4576f9", 2400, 800),
             "chains_hard": ("8343d67364228fd4", 7112, 5640), "chains_hard_outcome": ("daced615cf61318a", 2400, 800)}


def test_every_builtin_is_frozen():
    assert not set(FROZEN) & set(PAIRWISE)
    assert sorted({**FROZEN, **PAIRWISE, **GENERATED}) == list_tasks()
    assert sorted({**FROZEN, **PAIRWISE}) == sorted(HUB)


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_generated_builtin_rows_and_fingerprint_unchanged(name):
    data = load_task(name)
    assert (data.fingerprint, len(data.pool), len(data.test)) == GENERATED[name]


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_builtin_rows_and_fingerprint_unchanged(name):
    if not SHARED.is_dir():
        pytest.skip("shared/data not present beside the repository")
    fp, n_pool, n_test, pool_head, test_head = FROZEN[name]
    data = load_task(name, SHARED)
    assert (len(data.pool), None if data.test is None else len(data.test)) == (n_pool, n_test)
    assert [(r.id, r.group, r.label, _sha(r.text)) for r in data.pool[:3]] == pool_head
    assert [(r.id, r.group, r.label, _sha(r.text)) for r in (data.test or [])[:3]] == test_head
    assert all(r.pair is None for r in data.pool)
    assert data.fingerprint == fp


@pytest.mark.parametrize("name", sorted(PAIRWISE))
def test_pairwise_builtin_rows_and_fingerprint_unchanged(name):
    if not SHARED.is_dir():
        pytest.skip("shared/data not present beside the repository")
    fp, n_pool, n_test, pool_head, test_head = PAIRWISE[name]
    data = load_task(name, SHARED)
    assert get_task(name).kind == "pairwise"
    assert (len(data.pool), None if data.test is None else len(data.test)) == (n_pool, n_test)
    assert [(r.id, r.group, r.label, _sha(r.text)) for r in data.pool[:3]] == pool_head
    assert [(r.id, r.group, r.label, _sha(r.text)) for r in (data.test or [])[:3]] == test_head
    assert all(r.pair is not None for r in data.pool + (data.test or []))
    assert data.fingerprint == fp


@pytest.mark.parametrize("name", sorted(HUB))
def test_builtin_hub_rows_unchanged(name, monkeypatch):
    fake = fake_hub()
    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(
        load_dataset=lambda hub_id, config=None, **kw: fake[(hub_id, config)]))
    task = get_task(name)
    pool, test = task.hub(fake[(task.hub_id, task.hub_config)])
    assert (fingerprint(pool, test), len(pool), None if test is None else len(test)) == HUB[name]
