"""Word sets the CV parser reads by: job-title and employer words, name blockers, spoken languages, skill-list words."""

from __future__ import annotations

TITLE_WORDS = frozenset(
    """entwickler softwareentwickler backend-entwickler frontend-entwickler werkstudent berater beraterin
    ingenieur ingenieurin leiter leiterin projektleiter sachbearbeiter analista desarrollador desarrolladora
    ingeniero ingeniera consultor consultora gerente jefe jefa directora enfermero enfermera profesora contable
    développeur développeuse ingénieur analyste stagiaire responsable desenvolvedor engenheiro engenheira
    engineer engineers developer developers manager analyst consultant intern internship trainee assistant
    associate executive director officer specialist lead architect administrator designer producer teacher
    professor lecturer coordinator co-ordinator supervisor head president vice vp ceo cto cfo coo cio founder
    co-founder cofounder owner partner programmer tester accountant auditor clerk representative agent advisor
    adviser nurse therapist worker technician scientist researcher fellow instructor trainer editor writer author
    journalist photographer artist chef cook driver operator mechanic electrician planner buyer merchandiser
    recruiter receptionist secretary cashier salesperson attorney lawyer paralegal physician doctor pharmacist
    counselor counsellor caseworker volunteer freelance freelancer contractor advertiser strategist controller
    treasurer banker broker underwriter inspector surveyor estimator foreman superintendent principal dean tutor
    mentor captain apprentice sde swe dba devops qa manager/lead leader admin expert incharge in-charge
    management-trainee chairman member staff employee graduate student aide guard host hostess waiter waitress
    bartender barista steward stewardess pilot attendant therapist psychologist dentist surgeon paramedic
    consultant/developer programmer/analyst hr marketer copywriter animator illustrator modeler modeller
    coordinator/manager ambassador evangelist owner/operator investigator scrum""".split()
)
ORG_WORDS = frozenset(
    """infirmary nhs homes gmbh s.l. banco
    ltd ltd. limited pvt pvt. private inc inc. incorporated corp corp. corporation co co. company llc llp plc
    gmbh ag s.a. sa bv technologies technology tech solutions services systems software consulting consultants
    consultancy infotech infosystems labs lab group bank hospital hospitals clinic agency associates enterprises
    enterprise industries international global partners foundation organisation organization center centre studio
    studios media networks communications pharma pharmaceuticals motors airlines airways holdings ventures capital
    healthcare stores store restaurant hotel hotels resort council department ministry government bureau
    authority society trust firm inc, llc, ltd, corp, solutions, technologies, telecom power energy logistics
    infrastructure constructions construction builders automation electronics electricals engineering consultancy
    marketing advertising publications publishing press news magazine insurance finance financial securities
    investments university college institute school academy elementary church commission court courts district
    association society club league camp shop laboratory laboratories library museum committee fraternity sorority
    advocates solicitors attorneys law lawyers chambers charity ymca ywca foods motors railways railway wireless
    cable broadcasting newspaper journal hospitality restaurants cafe bakery salon boutique clinics pharmacy
    infotech infotek softech softwares webtech datatech labs lp""".split()
)
NAME_BLOCK = frozenset(
    """resumé résumé lebenslauf currículum curriculo currículo names name first last surname given road
    street lane avenue drive crescent terrace gardens room suite apt flat building plot block
    regards sincerely faithfully
    resume curriculum vitae cv bio-data biodata profile summary address phone mobile email e-mail contact street
    road avenue lane city state nagar colony apartment apartments floor sector dist district india usa page
    objective experience education skills template your name date birth personal details linkedin github
    portfolio career professional sample the of and for in at with my to is nationality male female""".split()
)
HUMAN_LANGUAGES = frozenset(
    """english hindi spanish french german italian portuguese russian chinese mandarin cantonese japanese korean
    arabic bengali bangla urdu punjabi tamil telugu kannada malayalam marathi gujarati odia oriya assamese nepali
    sinhala dutch swedish norwegian danish finnish polish czech slovak hungarian romanian bulgarian greek turkish
    hebrew persian farsi swahili thai vietnamese indonesian malay tagalog filipino ukrainian serbian croatian
    bosnian slovenian albanian latin sanskrit catalan basque irish welsh afrikaans zulu amharic somali""".split()
)


LOWER_OK = frozenset({"and", "of", "the", "for", "in", "at", "de", "la", "du", "und", "&"})


CATEGORY_WORDS = frozenset(
    """languages language tools tool technologies technology databases database os ides ide frameworks framework
    platforms platform software skills others other web servers server scripting packages applications
    methodologies concepts""".split()
)


VAGUE = frozenset(
    """design developing development project technical information software computer testing planning analysis client
    customer services reporting professional member role duties honors volunteer state intermediate advanced basic
    beginner expert certifications applications environments environment architect internet technology presentation
    initiative xp vista me nt office web mobile desktop server servers hardware network systems system support
    operations processes tools tool familiar proficient knowledge working exposure hands on good""".split()
)


#: Single words that head or pad a skills list but name no skill on their own.
PLAIN_WORDS = frozenset(
    """programming engineering integration fundamentals travel social reading rules topic test associate reader
    description programme penetration proving rhythm grip exclusion installation sports music movies cooking
    writing singing dancing english fluent native level grade basic intermediate advanced excellent good""".split()
)


#: Words in a list's label that say the list names skills: 'Environment: Java, Spring', 'Other software: Jira, Git'.
LIST_LABEL_WORDS = frozenset(
    """environment environments technologies technology tools tool languages language software platforms platform
    systems databases database skills frameworks framework applications packages ides ide os utilities servers
    methodologies protocols libraries scripting proficiency proficiencies expertise competencies competency
    concentration specialties specialization specializations stack""".split()
)
TITLE_TAIL = frozenset({"of", "for"})
TAIL_LOWER = frozenset({"and", "&", "of", "the"})
ROMAN = frozenset({"i", "ii", "iii", "iv", "1", "2", "3"})


#: Head nouns of non-technical job titles that the shared title-head list lacks: a name ending in one is a role.
EXTRA_TITLE_HEADS = frozenset(
    """coach chef cook driver nurse waiter waitress bartender barista cleaner carer caregiver midwife paramedic
    dentist surgeon doctor solicitor plumber carpenter welder server hostess housekeeper porter labourer
    laborer practitioner reviewer sitter nanny babysitter proofreader""".split()
)
