"""Job-title families, so that "Staff Nurse", "Registered Nurse" and "RN" are one role to the matcher.

Word overlap alone says "Accounts Assistant" is half a "Teaching Assistant" and that a "Bookkeeper" is nothing like
an "Accounts Assistant". A family lists the spellings of one role across employers and countries; a sector groups
families, and RELATED names families that are neighbours (a healthcare assistant applying for a nurse post).

Format of FAMILIES: "## sector" starts a sector; then one family a line, "family: spelling | spelling | ...".
Spellings are lower-case words after `core.local.titles.normalise` (accents folded, "&" between words → "and",
punctuation → space, ABBREVIATIONS expanded); they are matched as whole-word runs anywhere in a title, longest first.

Compiled by hand for this project from general knowledge of job titles (no third-party list was copied) and
dedicated to the public domain under CC0 1.0 (https://creativecommons.org/publicdomain/zero/1.0/legalcode).
"""

from __future__ import annotations

FAMILIES = """
## health
nurse: nurse | registered nurse | staff nurse | ward nurse | adult nurse | charge nurse | ward sister | sister |
  clinical nurse | general nurse | theatre nurse | practice nurse | community nurse | district nurse | icu nurse |
  critical care nurse | emergency nurse | ae nurse | nurse band 5 | enfermero | enfermera | krankenpfleger |
  krankenpflegerin | pflegefachkraft | gesundheits und krankenpfleger | infirmier | infirmiere | enfermeiro |
  nurse manager | senior nurse | licensed practical nurse | licensed vocational nurse | enrolled nurse
nurse_practitioner: nurse practitioner | advanced nurse practitioner | clinical nurse specialist | nurse specialist
healthcare_assistant: healthcare assistant | health care assistant | care assistant | nursing assistant |
  certified nursing assistant | nurse aide | nursing auxiliary | auxiliary nurse | patient care assistant |
  clinical support worker | healthcare support worker | support worker | care worker | carer | senior carer |
  home carer | domiciliary carer | personal care assistant | patient care technician | pflegehelfer
midwife: midwife | community midwife | hebamme | matrona
doctor: doctor | physician | medical doctor | general practitioner | junior doctor | foundation doctor |
  resident physician | resident doctor | registrar | consultant physician | hospitalist | medical officer | arzt |
  arztin | medico | medica
pharmacist: pharmacist | clinical pharmacist | community pharmacist | apotheker | farmaceutico | farmaceutica
pharmacy_technician: pharmacy technician | pharmacy assistant | dispenser | pharmacy dispenser
paramedic: paramedic | emergency medical technician | ambulance technician | emergency care assistant
physiotherapist: physiotherapist | physical therapist | fisioterapeuta | physiotherapeut
occupational_therapist: occupational therapist | ergotherapeut
dental_nurse: dental nurse | dental assistant
dentist: dentist | dental surgeon | dental practitioner
radiographer: radiographer | diagnostic radiographer | radiologic technologist | sonographer | x ray technician
medical_receptionist: medical receptionist | gp receptionist | medical secretary | ward clerk | medical administrator
social_worker: social worker | case worker | caseworker | child protection social worker
## finance
bookkeeper: bookkeeper | book keeper | accounts assistant | accounts clerk | accounting clerk | accounting assistant |
  accounts administrator | accounts payable clerk | accounts receivable clerk | accounts payable assistant |
  accounts receivable assistant | accounts payable specialist | accounts payable | accounts receivable |
  purchase ledger clerk | sales ledger clerk | purchase ledger assistant | sales ledger assistant | ledger clerk |
  finance assistant | finance clerk | finance administrator | bookkeeping assistant | accounts officer |
  buchhalter | buchhalterin | auxiliar contable | auxiliar administrativo contable | contable junior
accountant: accountant | chartered accountant | certified public accountant | management accountant |
  financial accountant | staff accountant | cost accountant | project accountant | assistant accountant |
  trainee accountant | part qualified accountant | qualified accountant | general ledger accountant | contable |
  contador | contadora | bilanzbuchhalter | comptable | contabilista
tax: tax accountant | tax advisor | tax adviser | tax consultant | tax associate | tax manager | tax specialist |
  steuerberater | steuerfachangestellte | asesor fiscal
payroll: payroll administrator | payroll officer | payroll clerk | payroll specialist | payroll assistant |
  payroll manager | payroll coordinator
auditor: auditor | internal auditor | external auditor | audit associate | audit senior | audit assistant |
  audit manager | wirtschaftsprufer | auditor interno
financial_analyst: financial analyst | finance analyst | fpa analyst | budget analyst | financial planning analyst |
  commercial finance analyst | finance business partner | analista financiero | analista financiera |
  finanzanalyst | investment analyst
finance_manager: finance manager | financial controller | controller | comptroller | head of finance |
  finance director | chief financial officer | financial director | director financiero | finanzleiter
credit_controller: credit controller | credit control | collections officer | collections agent | credit analyst
financial_adviser: financial adviser | financial advisor | financial planner | wealth manager | mortgage adviser |
  mortgage advisor | independent financial adviser | paraplanner
bank_teller: bank teller | teller | cashier bank | customer service officer bank | bank clerk | banking associate
## hospitality
chef: chef | sous chef | chef de partie | commis chef | head chef | executive chef | demi chef de partie |
  junior sous chef | pastry chef | line cook | cook | prep cook | kitchen manager | chef de cuisine | chef tournant |
  breakfast chef | koch | kochin | cocinero | cocinera | cuisinier
kitchen_porter: kitchen porter | kitchen assistant | dishwasher | kitchen hand | pot washer | kitchen steward
waiter: waiter | waitress | server | waiting staff | food and beverage assistant | restaurant assistant |
  food server | host | hostess | runner | food runner | camarero | camarera | kellner | kellnerin
bartender: bartender | bar staff | barman | barmaid | bar supervisor | mixologist | bar tender | bar attendant
barista: barista | coffee shop assistant | cafe assistant | cafe worker
front_desk: receptionist | front desk agent | front desk receptionist | front of house | front office agent |
  guest services agent | guest service agent | hotel receptionist | night auditor | concierge | recepcionista
hospitality_manager: restaurant manager | hotel manager | front of house manager | duty manager |
  general manager hotel | assistant restaurant manager | food and beverage manager | bar manager
housekeeping: housekeeper | room attendant | chambermaid | housekeeping assistant | cleaner | domestic assistant |
  cleaning operative | janitor | custodian
## education
teaching_assistant: teaching assistant | classroom assistant | learning support assistant | teacher assistant |
  teachers assistant | teacher aide | teachers aide | paraprofessional |
  education assistant | educational assistant | learning assistant | special needs assistant |
  higher level teaching assistant | classroom support assistant | cover supervisor | auxiliar de conversacion
teacher: teacher | primary teacher | primary school teacher | secondary teacher | secondary school teacher |
  school teacher | classroom teacher | subject teacher | maths teacher | english teacher | science teacher |
  supply teacher | newly qualified teacher | early career teacher | form tutor | head of year | lehrer | lehrerin |
  profesor de secundaria | maestro | maestra | enseignant | professeur des ecoles | educator
lecturer: lecturer | senior lecturer | professor | associate professor | assistant professor | reader |
  university lecturer | academic | dozent | profesor universitario | research fellow
tutor: tutor | private tutor | online tutor | english tutor | maths tutor
early_years: nursery nurse | nursery practitioner | early years practitioner | early years educator |
  preschool teacher | pre school teacher | childcare assistant | childcare practitioner | nursery assistant |
  kindergarten teacher | erzieher | erzieherin
## retail
retail_assistant: sales associate | retail assistant | sales assistant | retail associate | shop assistant |
  store associate | customer assistant | retail sales associate | sales advisor | sales adviser |
  retail sales assistant | store assistant | retail advisor | retail sales advisor | sales floor associate |
  retail colleague | store colleague | shop floor assistant | retail team member | sales consultant retail |
  dependiente | dependienta | verkaufer | verkauferin | vendeur | vendeuse
cashier: cashier | checkout operator | checkout assistant | till operator | cashier assistant | cajero | cajera
store_manager: store manager | shop manager | retail manager | assistant store manager | deputy store manager |
  branch manager retail | department manager | store supervisor | retail supervisor | shift manager | floor manager
merchandiser: visual merchandiser | merchandiser | merchandising assistant
stock: stock assistant | stock controller | stock replenishment assistant | shelf stacker | stockroom assistant
## sales
sales_rep: sales representative | sales executive | account executive | business development representative |
  business development executive | sales development representative | inside sales representative |
  field sales representative | territory sales representative | sales agent |
  medical sales representative | business development manager | sales consultant | telesales executive |
  commercial representative
account_manager: account manager | key account manager | client manager | relationship manager |
  client services manager | customer success manager | account director
customer_service: customer service representative | customer service advisor | customer service adviser |
  customer service agent | customer service assistant | call centre agent | call center agent | contact centre advisor |
  contact center agent | customer support agent | customer support representative | customer care advisor |
  customer care agent | customer advisor | customer service officer | customer support specialist |
  atencion al cliente
## admin
admin_assistant: administrative assistant | admin assistant | administration assistant | office administrator |
  office assistant | clerical assistant | clerical officer | administrative officer | administration officer |
  admin officer | secretary | personal assistant | executive assistant | office coordinator | administrator |
  admin | administrative clerk | office clerk | general clerk | administrativo | administrativa | burokaufmann |
  burokauffrau | sekretarin | team secretary
office_manager: office manager | practice manager | operations administrator | facilities coordinator
data_entry: data entry clerk | data entry operator | data entry administrator | data entry assistant | typist
## hr
hr: human resources advisor | human resources adviser | human resources officer | human resources assistant |
  human resources administrator | human resources generalist | human resources business partner | people partner |
  human resources manager | personnel officer | human resources coordinator | human resources specialist |
  people advisor | people manager human resources | human resources | personalreferent | tecnico de recursos humanos
recruiter: recruiter | recruitment consultant | talent acquisition specialist | talent acquisition partner |
  resourcer | recruitment coordinator | recruitment advisor | talent acquisition manager | headhunter | sourcer |
  technical recruiter | recruitment officer
training: trainer | learning and development specialist | training coordinator | training officer | instructor
## trades
electrician: electrician | electrical technician | electrical installer | approved electrician | electrical fitter |
  elektriker | electricista
plumber: plumber | heating engineer | gas engineer | plumbing and heating engineer | gas safe engineer | fontanero
carpenter: carpenter | joiner | carpenter joiner | site carpenter | cabinet maker | tischler | carpintero
mechanic: mechanic | vehicle technician | motor mechanic | auto technician | automotive technician | car mechanic |
  motor vehicle technician | diesel mechanic | kfz mechatroniker | mecanico
welder: welder | fabricator | welder fabricator | mig welder | tig welder | soldador
driver: driver | delivery driver | hgv driver | lorry driver | truck driver | van driver | courier | multi drop driver |
  class 1 driver | class 2 driver | bus driver | chauffeur | taxi driver | lkw fahrer
warehouse: warehouse operative | warehouse associate | warehouse worker | picker packer | order picker | picker |
  packer | warehouse assistant | forklift driver | forklift operator | reach truck driver | goods in operative |
  lagerist | mozo de almacen
labourer: labourer | laborer | construction worker | general operative | groundworker | site operative | peon
maintenance: maintenance technician | maintenance engineer | handyman | facilities technician | maintenance operative |
  multi skilled engineer | building maintenance | caretaker
painter: painter and decorator | painter | decorator
## security
security: security officer | security guard | door supervisor | security operative | cctv operator | vigilante
## tech
software_engineer: software engineer | software developer | developer | programmer | backend engineer |
  back end engineer | backend developer | back end developer | frontend engineer | front end engineer |
  frontend developer | front end developer | full stack developer | full stack engineer | fullstack developer |
  fullstack engineer | web developer | application developer | applications developer | software development engineer |
  mobile developer | ios developer | android developer | python engineer | java engineer | game developer |
  softwareentwickler | entwickler | anwendungsentwickler | fachinformatiker anwendungsentwicklung |
  softwareingenieur | desarrollador | desarrolladora | programador | programadora | ingeniero de software |
  developpeur | developpeuse | desenvolvedor | coder | software architect | engineering manager software
data_scientist: data scientist | machine learning engineer | ai engineer | research scientist machine
  learning | applied scientist | cientifico de datos | cientifica de datos
data_analyst: data analyst | business intelligence analyst | bi analyst | reporting analyst | analytics analyst |
  insight analyst | insights analyst | marketing analyst | product analyst | analytics engineer | mi analyst |
  management information analyst | analista de datos | datenanalyst | analyste de donnees | bi developer
data_engineer: data engineer | big data engineer | etl developer | data platform engineer | datenengineer |
  ingeniero de datos
devops: devops engineer | site reliability engineer | platform engineer | cloud engineer | infrastructure engineer |
  devops | build engineer | release engineer | cloud architect
qa: quality assurance engineer | test engineer | software tester |
  quality assurance analyst | tester | test analyst | automation tester | software development engineer in test |
  test automation engineer
it_support: it support technician | it support analyst | it support | helpdesk analyst | help desk analyst |
  helpdesk technician | help desk technician | service desk analyst | desktop support | it technician |
  support technician | first line support | 1st line support | 2nd line support | second line support |
  it support engineer | desktop support engineer | technical support engineer | technical support specialist
sysadmin: system administrator | systems administrator | sysadmin | network administrator | network engineer |
  systems engineer | linux administrator | windows administrator | database administrator | dba |
  systemadministrator | administrador de sistemas
security_engineer: security engineer | security analyst | cyber security analyst | cybersecurity analyst |
  information security analyst | penetration tester | soc analyst | cyber security engineer
product_manager: product manager | product owner | technical product manager | head of product | product lead
project_manager: project manager | programme manager | program manager | project coordinator | delivery manager |
  scrum master | project lead | pmo analyst | projektleiter | jefe de proyecto | gestor de proyectos
ux_designer: ux designer | ui designer | product designer | ui ux designer | user experience designer |
  interaction designer | ux researcher | user researcher | web designer
graphic_designer: graphic designer | visual designer | designer | creative designer | artworker | illustrator |
  disenador grafico | disenadora grafica | grafikdesigner
business_analyst: business analyst | business systems analyst | systems analyst | requirements analyst |
  functional analyst | analista de negocio | business analyst it
## marketing
marketing: marketing executive | marketing manager | digital marketing executive | digital marketing manager |
  marketing coordinator | marketing assistant | marketing officer | marketing specialist | head of marketing |
  head of digital marketing | digital marketing specialist | marketing director | growth marketer | marketer |
  performance marketing manager | seo specialist | seo executive | ppc executive | ppc specialist |
  marketing consultant | brand manager | campaign manager | email marketing executive | crm executive
content: copywriter | content writer | content marketer | content editor | content executive | content manager |
  content strategist | editor | writer | technical writer
social_media: social media manager | social media executive | social media coordinator | community manager |
  social media assistant | social media specialist
pr: public relations officer | pr officer | pr executive | communications officer | communications manager |
  press officer | communications executive
## legal
lawyer: solicitor | lawyer | attorney | legal counsel | barrister | in house counsel | associate solicitor |
  trainee solicitor | abogado | abogada | rechtsanwalt | rechtsanwaltin | avocat | general counsel
paralegal: paralegal | legal assistant | legal secretary | legal executive | conveyancer | legal clerk
## engineering
mechanical_engineer: mechanical engineer | design engineer mechanical | maschinenbauingenieur | ingeniero mecanico
civil_engineer: civil engineer | structural engineer | site engineer | bauingenieur | ingeniero civil
electrical_engineer: electrical engineer | electronics engineer | electronic engineer | elektroingenieur
## logistics
logistics: logistics coordinator | logistics manager | supply chain analyst | supply chain manager | planner |
  supply planner | demand planner | transport planner | logistics planner | shipping coordinator
buyer: buyer | purchaser | procurement officer | purchasing assistant | procurement specialist | category buyer |
  purchasing manager | procurement manager | einkaufer
"""

# Neighbouring roles: partly similar (a weaker match than one family, a stronger one than sharing a sector).
RELATED = (
    ("nurse", "healthcare_assistant"), ("nurse", "midwife"), ("nurse", "nurse_practitioner"),
    ("nurse_practitioner", "doctor"), ("pharmacist", "pharmacy_technician"), ("dental_nurse", "dentist"),
    ("bookkeeper", "accountant"), ("bookkeeper", "payroll"), ("bookkeeper", "credit_controller"),
    ("accountant", "auditor"), ("accountant", "tax"), ("accountant", "financial_analyst"),
    ("accountant", "finance_manager"), ("financial_analyst", "finance_manager"),
    ("chef", "kitchen_porter"), ("waiter", "bartender"), ("waiter", "barista"), ("bartender", "barista"),
    ("front_desk", "admin_assistant"), ("front_desk", "medical_receptionist"), ("waiter", "hospitality_manager"),
    ("teaching_assistant", "teacher"), ("teaching_assistant", "early_years"), ("teacher", "tutor"),
    ("teacher", "lecturer"), ("teacher", "early_years"),
    ("retail_assistant", "cashier"), ("retail_assistant", "store_manager"), ("retail_assistant", "stock"),
    ("retail_assistant", "customer_service"), ("retail_assistant", "merchandiser"), ("retail_assistant", "sales_rep"),
    ("sales_rep", "account_manager"), ("customer_service", "sales_rep"),
    ("admin_assistant", "office_manager"), ("admin_assistant", "data_entry"),
    ("admin_assistant", "medical_receptionist"),
    ("hr", "recruiter"), ("hr", "training"), ("carpenter", "labourer"), ("maintenance", "electrician"),
    ("maintenance", "plumber"), ("driver", "warehouse"),
    ("software_engineer", "devops"), ("software_engineer", "qa"), ("software_engineer", "data_engineer"),
    ("software_engineer", "data_scientist"), ("data_scientist", "data_analyst"), ("data_analyst", "data_engineer"),
    ("data_analyst", "business_analyst"), ("data_analyst", "financial_analyst"), ("devops", "sysadmin"),
    ("it_support", "sysadmin"), ("security_engineer", "sysadmin"), ("product_manager", "project_manager"),
    ("ux_designer", "graphic_designer"), ("marketing", "content"), ("marketing", "social_media"), ("marketing", "pr"),
    ("content", "pr"), ("lawyer", "paralegal"), ("logistics", "buyer"), ("logistics", "warehouse"),
)  # fmt: skip

# Short forms written in titles, expanded word by word before families are looked up.
ABBREVIATIONS = {
    "rn": "registered nurse", "rgn": "registered nurse", "rmn": "registered nurse", "hca": "healthcare assistant",
    "cna": "certified nursing assistant", "lpn": "licensed practical nurse", "lvn": "licensed vocational nurse",
    "anp": "advanced nurse practitioner", "np": "nurse practitioner", "gp": "general practitioner",
    "emt": "emergency medical technician", "physio": "physiotherapist", "ot": "occupational therapist",
    "ta": "teaching assistant", "lsa": "learning support assistant", "hlta": "higher level teaching assistant",
    "sna": "special needs assistant", "nqt": "newly qualified teacher", "ect": "early career teacher",
    "cpa": "certified public accountant", "aca": "chartered accountant", "acca": "chartered accountant",
    "cima": "management accountant", "ap": "accounts payable", "ar": "accounts receivable",
    "cfo": "chief financial officer", "kp": "kitchen porter", "cdp": "chef de partie", "foh": "front of house",
    "csr": "customer service representative", "bdr": "business development representative",
    "sdr": "sales development representative", "bdm": "business development manager", "kam": "key account manager",
    "pa": "personal assistant", "ea": "executive assistant", "hr": "human resources",
    "hrbp": "human resources business partner",
    "ld": "learning and development", "swe": "software engineer", "sde": "software development engineer",
    "sdet": "software development engineer in test", "sre": "site reliability engineer", "qa": "quality assurance",
    "ml": "machine learning", "pm": "project manager",
    "po": "product owner", "dev": "developer", "devs": "developer", "eng": "engineer", "engr": "engineer",
    "sr": "senior", "snr": "senior", "jr": "junior", "jnr": "junior", "asst": "assistant", "assoc": "associate",
    "mgr": "manager", "mngr": "manager", "exec": "executive", "rep": "representative",
    "coord": "coordinator", "ops": "operations", "acct": "accountant", "accts": "accounts",
    "supt": "superintendent", "dir": "director", "vp": "vice president",
}  # fmt: skip

# Words that say how senior, not what the role is: ignored when comparing roles.
SENIORITY = frozenset(
    """senior junior lead principal staff chief head trainee graduate apprentice intern internship entry level mid
    ii iii iv i 1 2 3 experienced qualified newly deputy band 5 6 7 8 relief temporary temp permanent
    part full time contract locum bank""".split()
)

# Role head words that many unrelated roles share: alone, they say little ("Accounts Assistant" / "Teaching Assistant").
GENERIC_HEADS = frozenset(
    """assistant manager officer associate specialist coordinator executive advisor adviser consultant analyst engineer
    technician worker operative administrator representative agent clerk director supervisor team member leader
    professional practitioner partner support staff colleague operator""".split()
)
