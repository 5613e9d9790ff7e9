"""Words that are never a keyword to add to a CV: function words of every language the app reads (English,
German, Spanish, French, Portuguese), the framing of job ads, and the vocabulary of prompt injection."""

from __future__ import annotations

STOPWORDS_OTHER_LANGUAGES = frozenset(
    """und oder mit der die das den dem des ein eine einer eines einem einen im ins zu zum zur von vom für auf aus
    bei nach über unter vor durch als auch ist sind wir sie ihr ihre unser unsere nicht noch sehr wie was wenn
    dass sich bis oder sowie werden wird haben hat sein kann können sollte
    el la los las un una unos unas y o de del al en con por para sin sobre entre que es son somos como más muy
    su sus nuestro nuestra se lo le les este esta estos estas ese esa
    le la les un une des et ou de du au aux en avec pour par sans sur dans que qui est sont nous vous notre nos
    votre vos ce cette ces son sa ses plus très
    o a os as um uma uns umas e ou de do da dos das ao em no na nos nas com por para sem sobre que é são nosso
    nossa seu sua seus suas mais muito""".split()
)

#: Words that instruct a model rather than describe a job: never suggested to a job seeker.
INJECTION_WORDS = frozenset(
    """ignore ignoring ignored disregard previous prior above instructions instruction prompt prompts system
    assistant chatgpt gpt llm model override jailbreak pretend roleplay reveal secret secrets password
    api key tokens""".split()
)

#: Framing every ad uses, in any field: not a skill, duty or qualification a CV could add.
AD_FRAMING = frozenset(
    """looking join joining apply applying applicant applicants candidate candidates position positions job jobs
    vacancy vacancies opening offer offering company companies employer organisation organization excellent
    strong good great ideal ideally required requirements requirement desirable preferred plus bonus essential
    must nice have having experience experienced years year minimum least etc including include includes
    responsibilities responsibility duties duty day days work working worker workers please send cv resume
    salary benefits competitive package equal opportunity opportunities""".split()
)
