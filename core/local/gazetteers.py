"""Word lists that tell a place, a job title and an employer apart in CV lines (places are never employers)."""

from __future__ import annotations

import re
from functools import lru_cache

#: Two-letter US state and Canadian province codes, as in 'Tucson, AZ'.
STATE_CODES = frozenset(
    """AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK
    OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR ON QC BC AB MB SK NS NB NL PE""".split()
)

#: Regions and countries written out in full (lower case, multi-word names allowed).
REGIONS = frozenset(
    """alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|georgia|hawaii|idaho|illinois|
    indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|michigan|minnesota|mississippi|missouri|
    montana|nebraska|nevada|ohio|oklahoma|oregon|pennsylvania|tennessee|texas|utah|vermont|virginia|washington|
    wisconsin|wyoming|new hampshire|new jersey|new mexico|new york|north carolina|north dakota|rhode island|
    south carolina|south dakota|west virginia|district of columbia|ontario|quebec|alberta|manitoba|
    british columbia|nova scotia|karnataka|maharashtra|kerala|gujarat|rajasthan|punjab|haryana|bihar|odisha|orissa|
    assam|goa|jharkhand|chhattisgarh|uttarakhand|telangana|delhi|uttar pradesh|madhya pradesh|andhra pradesh|
    tamil nadu|west bengal|himachal pradesh|jammu and kashmir|new south wales|queensland|victoria|tasmania|
    india|usa|us|united states|united states of america|uk|united kingdom|england|scotland|wales|ireland|canada|
    australia|new zealand|germany|france|italy|spain|portugal|netherlands|belgium|switzerland|austria|sweden|
    norway|denmark|finland|poland|russia|china|japan|korea|south korea|singapore|malaysia|indonesia|philippines|
    thailand|vietnam|pakistan|bangladesh|sri lanka|nepal|uae|united arab emirates|dubai|saudi arabia|qatar|kuwait|
    oman|bahrain|egypt|kenya|nigeria|south africa|ghana|uganda|tanzania|ethiopia|brazil|mexico|argentina|chile|
    colombia|peru|israel|turkey|greece|iraq|iran|remote""".replace("\n", " ")
    .replace("|", "\n")
    .split("\n")
)

#: Cities that CVs in this domain often name next to an employer.
CITIES = frozenset(
    """bangalore|bengaluru|mumbai|bombay|pune|hyderabad|secunderabad|chennai|madras|kolkata|calcutta|new delhi|
    noida|greater noida|gurgaon|gurugram|ghaziabad|faridabad|ahmedabad|vadodara|baroda|surat|jaipur|lucknow|kanpur|
    nagpur|indore|bhopal|patna|ranchi|bhubaneswar|cuttack|coimbatore|madurai|trichy|tiruchirappalli|mysore|mysuru|
    mangalore|mangaluru|hubli|belgaum|kochi|cochin|ernakulam|trivandrum|thiruvananthapuram|calicut|kozhikode|
    visakhapatnam|vizag|vijayawada|guntur|warangal|chandigarh|mohali|ludhiana|amritsar|dehradun|nashik|aurangabad|
    thane|navi mumbai|kolhapur|solapur|goa|panaji|guwahati|jammu|srinagar|raipur|jabalpur|gwalior|agra|varanasi|
    allahabad|meerut|jodhpur|udaipur|kota|bangalore urban|new york|new york city|nyc|los angeles|san francisco|
    san jose|san diego|seattle|chicago|boston|austin|dallas|houston|atlanta|miami|denver|phoenix|philadelphia|
    pittsburgh|detroit|minneapolis|portland|sacramento|palo alto|mountain view|sunnyvale|cupertino|redmond|
    santa clara|oakland|irvine|baltimore|cleveland|columbus|cincinnati|indianapolis|nashville|charlotte|raleigh|
    tampa|orlando|jacksonville|st louis|kansas city|salt lake city|las vegas|tucson|albuquerque|milwaukee|
    toronto|vancouver|montreal|ottawa|calgary|london|manchester|birmingham|edinburgh|glasgow|dublin|paris|berlin|
    munich|frankfurt|hamburg|amsterdam|rotterdam|brussels|zurich|geneva|vienna|stockholm|oslo|copenhagen|helsinki|
    madrid|barcelona|lisbon|rome|milan|warsaw|prague|budapest|moscow|sydney|melbourne|brisbane|perth|adelaide|
    auckland|wellington|tokyo|beijing|shanghai|shenzhen|hong kong|taipei|seoul|manila|jakarta|kuala lumpur|
    bangkok|karachi|lahore|islamabad|dhaka|colombo|kathmandu|abu dhabi|doha|riyadh|jeddah|cairo|nairobi|lagos|
    johannesburg|cape town|sao paulo|mexico city|bogota|lima|buenos aires|santiago|tel aviv|
    liverpool|leeds|sheffield|bristol|newcastle|newcastle upon tyne|nottingham|leicester|coventry|bradford|cardiff|
    swansea|belfast|londonderry|aberdeen|dundee|inverness|stirling|cambridge|oxford|york|brighton|southampton|
    portsmouth|plymouth|exeter|norwich|kingston upon hull|stoke-on-trent|wolverhampton|sunderland|derby|salford|
    preston|lancaster|durham|canterbury|chester|worcester|gloucester|peterborough|winchester|wakefield|chelmsford|
    milton keynes|luton|croydon|middlesbrough|doncaster|huddersfield|stockport|warrington|ipswich|northampton|
    swindon|bournemouth|blackpool|cork|galway|limerick|waterford|kilkenny|sligo|drogheda|dundalk|athlone|canberra|
    hobart|gold coast|geelong|wollongong|townsville|cairns|parramatta|ballarat|edmonton|winnipeg|quebec city|
    mississauga|brampton|saskatoon|christchurch|dunedin|lyon|marseille|toulouse|nantes|strasbourg|bordeaux|lille|
    rennes|montpellier|grenoble|cologne|köln|koeln|stuttgart|düsseldorf|duesseldorf|dresden|leipzig|hannover|
    hanover|nuremberg|nürnberg|bremen|bonn|karlsruhe|mannheim|valencia|seville|sevilla|bilbao|malaga|málaga|
    zaragoza|porto|coimbra|braga|turin|torino|naples|napoli|florence|firenze|bologna|genoa|antwerp|ghent|
    rotterdam|utrecht|eindhoven|the hague|gothenburg|göteborg|malmö|malmo|bergen|trondheim|stavanger|aarhus|
    tampere|espoo|kraków|krakow|wrocław|wroclaw|gdańsk|gdansk|poznań|poznan|bucharest|athens|belgrade|
    zagreb|ljubljana|bratislava|tallinn|riga|vilnius|kyiv|kiev|istanbul|ankara|lausanne|basel|bern|graz|salzburg|
    innsbruck|linz|rio de janeiro|brasília|brasilia|belo horizonte|porto alegre|curitiba|recife|fortaleza|
    guadalajara|monterrey|medellín|medellin|cali|quito|caracas|montevideo|la paz|asunción""".replace("\n", "").split(
        "|"
    )
)

#: The word lists above wrap over lines; every name is stripped so that the first one of each line ('india',
#: 'indiana', 'nagpur') is found like the others.
REGIONS = frozenset(r.strip() for r in REGIONS if r.strip())
CITIES = frozenset(c.strip() for c in CITIES if c.strip())
_PLACE_WORDS = REGIONS | CITIES
_COUNTRIES = frozenset({"india", "usa", "us", "united states", "uk", "united kingdom", "canada", "australia"})
_ORGLIKE = re.compile(
    r"\b(?:corp|corporation|ltd|limited|inc|llc|llp|plc|pvt|group|technologies|solutions|services|systems|bank|"
    r"university|college|school|institute|hospital|infirmary|clinic|nhs|trust|care|homes?|centre|center|gmbh|"
    r"company|co|associates|consulting|software|labs?)\b\.?",
    re.I,
)
_CITY_STATE = re.compile(r"^[A-Z][A-Za-z.' -]{1,30},\s*(?:[A-Z]{2}\b|[A-Z][a-z]+(?:\s[A-Z][a-z]+)?)(?:\s+\d{5,6})?$")


_TRAILING_POSTCODE = re.compile(r"(?<!\s)\s+\d{5,6}$")
_WHITESPACE_RUN = re.compile(r"\s+")
_SPACED_DASH_PIPE_OR_DIGIT = re.compile(r"\s[-|]\s|\d|[;:]")  # and a semicolon or colon: a name before its place
_SLASH_SEPARATOR = re.compile(r"(?<!\s)\s*/\s*")


@lru_cache(maxsize=8192)
def is_place(text: str) -> bool:
    """'Tucson, AZ', 'Pune, Maharashtra', 'Bangalore', 'India', 'New York, NY 10001': a place, not a company."""
    t = _WHITESPACE_RUN.sub(" ", text.strip(" ,.-|()")).strip()
    if not t or len(t) > 60:
        return False
    low = t.lower()
    if low in _PLACE_WORDS or (low.upper() in STATE_CODES and t.isupper()):
        return True
    parts = [p.strip() for p in t.split(",") if p.strip()]
    if _ORGLIKE.search(t) and not (len(parts) > 1 and parts[-1] in STATE_CODES and not _ORGLIKE.search(parts[0])):
        return False  # 'Acme Co, CA' is an employer; 'Boulder, CO' is Colorado
    if len(parts) == 2 or (len(parts) == 3 and parts[-1].lower() in _COUNTRIES):
        tail = parts[-2] if len(parts) == 3 else parts[-1]
        last = _TRAILING_POSTCODE.sub("", tail)
        if last.lower() in CITIES and last.lower() not in REGIONS and len(parts) == 2:
            # 'Andheri, Mumbai' is a district of a city; 'Banco Meridiano S.A., Madrid' is an employer in one
            first = parts[0]
            return first.lower() in _PLACE_WORDS or (len(first.split()) == 1 and first.isalpha())
        if last in STATE_CODES or last.lower() in _PLACE_WORDS or _state_in_title_case(last):
            return len(parts[0].split()) <= 3 and not _SPACED_DASH_PIPE_OR_DIGIT.search(parts[0])
    if len(parts) == 1 and len(t.split()) <= 3:
        return all(w.lower() in _PLACE_WORDS for w in _SLASH_SEPARATOR.split(t))
    return False


#: State codes that are also English words or common abbreviations ('In', 'Or', 'Me', 'Co'): only in capitals.
_WORDLIKE_STATES = frozenset(
    "IN OR ME HI OK OH DE LA MA PA CO AL ID MS MD MO NE AR GA SC VA WA WI UT MT NC ND SD".split()
)


def _state_in_title_case(part: str) -> bool:
    """'Santa Rosa, Ca', 'Austin, Tx': a state code typed in title case, when it is no English word or title."""
    return len(part) == 2 and part.istitle() and part.upper() in STATE_CODES and part.upper() not in _WORDLIKE_STATES


# ' - ', ' | ', or the comma, semicolon or colon before a trailing 'City, ST' ('Gridlock Builders; Boston, MA')
_PLACE_SEPARATOR = re.compile(r"(?<!\s)(?:\s+[-|–]\s+|\s*\|\s*)|[,;:]\s+(?=[^,;:]*,\s*[A-Z]{2}\b)")
# 'Acme, Pune, MH' -> ('Acme', 'Pune, MH'): the last one or two comma parts
_LAST_COMMA_TAIL = re.compile(r"^(.*?),\s*([^,]+(?:,\s*[^,]+)?)$")


def strip_place(text: str) -> str:
    """'Infosys Limited - Pune, Maharashtra' → 'Infosys Limited'; text without a trailing place is unchanged."""
    parts = _PLACE_SEPARATOR.split(text)
    while len(parts) > 1 and is_place(parts[-1]):
        parts.pop()
    out = " - ".join(parts)
    m = _LAST_COMMA_TAIL.match(out)
    if m and is_place(m.group(2)) and len(m.group(1).split()) >= 1 and not is_place(m.group(1)):
        first, _, last = m.group(2).partition(",")
        # 'Marketing Assistant, Salvation Army, Melbourne': before a city (not a state) may stand the employer
        keep = last and last.strip().lower() in CITIES and not is_place(first)
        out = f"{m.group(1)}, {first.strip()}" if keep else m.group(1)
    return out.strip(" ,-|")


#: Nouns that end a job title ('Senior Software *Engineer*', 'Director of Sales' starts with one).
TITLE_HEADS = frozenset(
    """engineer developer programmer analyst consultant manager administrator architect specialist executive officer
    intern trainee designer tester accountant teacher nurse director president vp ceo cto cfo coo cio cmo founder
    co-founder cofounder owner assistant coordinator co-ordinator supervisor professor lecturer instructor tutor
    trainer researcher scientist fellow technician representative advisor adviser auditor clerk editor writer
    webmaster operator mechanic machinist electrician planner buyer recruiter receptionist secretary cashier attorney
    lawyer paralegal counselor counsellor therapist psychologist pharmacist physician strategist controller treasurer
    banker broker underwriter inspector surveyor estimator foreman superintendent dean mentor apprentice
    apprenticeship internship chairman chairperson investigator economist freelancer contractor evangelist leader
    dba sde swe photographer animator illustrator producer journalist merchandiser marketer copywriter steward
    attendant pilot lead associate member head principal chair partner expert scholar programmer/analyst
    developer/programmer incharge in-charge manager/director""".split()
)

#: Heads that are also everyday words or verbs ('lead the team'): they need a modifier in front or 'of' after.
WEAK_HEADS = frozenset("lead associate member head principal chair partner expert scholar leader".split())

#: Words that qualify a job title: seniority, field, function ('Senior', 'Software', 'Sales').
TITLE_MODIFIERS = frozenset(
    """senior sr junior jr lead principal chief staff head assistant associate deputy executive general regional
    national global area zonal branch key technical tech software hardware data business system systems network
    networks web mobile android ios java php python net dotnet .net full stack full-stack frontend front-end front
    backend back-end end cloud devops qa quality test testing automation research teaching graduate student project
    program programme product account accounts sales marketing finance financial hr human resource resources it
    information technology customer client service services support help desk operations office administrative
    admin legal medical clinical nursing registered certified embedded electrical mechanical civil chemical
    electronics design graphic ui ux ui/ux security database application applications solution solutions
    enterprise integration release build infrastructure implementation management process planning purchase
    procurement store warehouse production maintenance site field lab laboratory communications content social
    media digital brand public relations event events training learning development engineering computer game
    interactive freelance contract visiting adjunct full-time part-time summer vice first team group unit division
    department shift night principal managing creative art music health safety environmental quantitative risk
    credit tax audit payroll treasury investment equity portfolio operations logistics supply chain inventory
    purchasing merchandising retail store manufacturing process design r&d qc qa/qc erp sap crm salesforce oracle
    mainframe linux unix windows microsoft sql etl bi analytics machine deep ai ml nlp vision game games ux/ui
    front-end back-end android/ios it/network associate/senior co founding teaching research student lab computer
    trainee intern internship apprentice entry level mid i ii iii iv 1 2 3 principal interim acting office/admin
    editorial communications public school high elementary middle secondary math mathematics science english
    history physics chemistry biology special education elementary kindergarten preschool home economics teacher's
    teachers medical dental pharmacy nurse care case social youth community admissions career services financial
    accounts payable receivable a/p a/r payable receivable cash register desk front bank loan mortgage insurance
    claims property real estate leasing hotel restaurant kitchen food beverage catering travel flight cabin
    structural hydraulic automotive aerospace design-build instrumentation control controls plc scada process
    piping mechanical/electrical mep hvac power energy solar wind oil gas drilling mining geology gis cad drafting
    autocad revit mobile/web web/mobile asp.net j2ee javascript angular react node ruby rails drupal wordpress
    magento sharepoint dynamics navision peoplesoft workday tableau hadoop big spark aws azure gcp devsecops
    site reliability performance usability user experience interface visual motion video multimedia webmaster
    interim acting temporary temp volunteer voluntary self employed self-employed""".split()
)
