"""Place names for ``CallWhereabouts`` in Dutch, French and English, folded (lower case, no accents,
hyphens as spaces): Belgium and its towns, the countries Belgian customers call and travel to,
and the adjectives of "a French number" / "een Nederlands nummer" / "un numéro marocain"."""

from __future__ import annotations

from typing import Tuple


def words(block: str) -> Tuple[str, ...]:
    """One name per comma, lines only for reading; spaces inside a name are kept."""
    return tuple(w.strip() for w in block.replace("\n", ",").split(",") if w.strip())


BELGIAN_PLACES = words(
    """
    belgium, belgie, belgique, belgien,
    brussels, brussel, bruxelles, antwerp, antwerpen, anvers, ghent, gent, gand, liege, luik,
    leuven, louvain, louvain la neuve, namur, namen, charleroi, bruges, brugge, hasselt, mechelen,
    malines, kortrijk, courtrai, ostend, oostende, ostende, aalst, alost, genk, sint niklaas,
    tournai, doornik, wavre, waver, arlon, aarlen, verviers, la louviere, roeselare, roulers,
    turnhout, ottignies, waterloo, ixelles, elsene, schaerbeek, schaarbeek, anderlecht,
    molenbeek, uccle, ukkel, eupen, lier, geel, ieper, ypres, knokke, spa, dinant, durbuy, bastogne,
    mons
    """
)

FOREIGN_PLACES = words(
    """
    netherlands, the netherlands, holland, nederland, pays bas, hollande,
    france, frankrijk, germany, duitsland, allemagne, luxembourg, luxemburg,
    uk, united kingdom, england, great britain, britain, scotland, engeland, verenigd koninkrijk,
    groot brittannie, royaume uni, angleterre, ireland, ierland, irlande,
    spain, spanje, espagne, portugal, italy, italie, italia, greece, griekenland, grece,
    austria, oostenrijk, autriche, switzerland, zwitserland, suisse, poland, polen, pologne,
    romania, roemenie, roumanie, bulgaria, bulgarije, bulgarie, hungary, hongarije, hongrie,
    czech republic, czechia, tsjechie, republique tcheque, slovakia, slowakije, slovaquie,
    croatia, kroatie, croatie, slovenia, slovenie, sweden, zweden, suede, norway, noorwegen,
    norvege, denmark, denemarken, danemark, finland, finlande, iceland, ijsland, islande,
    malta, malte, cyprus, cyprus, chypre, estonia, estland, estonie, latvia, letland, lettonie,
    lithuania, litouwen, lituanie, albania, albanie, kosovo, serbia, servie, serbie, bosnia,
    bosnie, montenegro, macedonia, macedonie, moldova, moldavie,
    turkey, turkije, turquie, morocco, marokko, maroc, algeria, algerije, algerie,
    tunisia, tunesie, tunisie, egypt, egypte, libya, libie, congo, rdc, kinshasa, rwanda,
    burundi, cameroon, kameroen, cameroun, senegal, ivory coast, ivoorkust, cote d'ivoire,
    nigeria, ghana, south africa, zuid afrika, afrique du sud, kenya, kenia, ethiopia,
    ethiopie, guinea, guinee, mali, cape verde, kaapverdie, cap vert, madagascar,
    ecuador, equateur, bolivia, bolivie, venezuela, paraguay, uruguay, guatemala, costa rica,
    jamaica, jamaique, haiti, nepal, sri lanka, malaysia, maleisie, malaisie, singapore,
    singapour, south korea, korea, zuid korea, coree, taiwan, cambodia, cambodja, cambodge,
    laos, mongolia, mongolie, kazakhstan, uzbekistan, oezbekistan, ouzbekistan, azerbaijan,
    azerbeidzjan, azerbaidjan, belarus, wit rusland, bielorussie, mauritania, mauritanie,
    niger, chad, tsjaad, tchad, sudan, soedan, soudan, somalia, somalie, eritrea, eritree,
    uganda, oeganda, ouganda, tanzania, tanzanie, angola, mozambique, mozambique, zambia,
    zambie, zimbabwe, benin, togo, burkina faso, gabon, sierra leone, liberia, gambia, gambie,
    usa, us, america, amerika, amerique, united states, the states, verenigde staten,
    etats unis, new york, canada, mexico, mexique, brazil, brazilie, bresil, argentina,
    argentinie, argentine, colombia, colombie, peru, perou, chile, chili, cuba,
    dominican republic, dominicaanse republiek, republique dominicaine, suriname, curacao,
    india, inde, pakistan, bangladesh, china, chine, japan, japon, thailand, thailande,
    vietnam, indonesia, indonesie, philippines, filipijnen, australia, australie,
    new zealand, nieuw zeeland, nouvelle zelande, russia, rusland, russie, ukraine,
    oekraine, georgia, georgie, armenia, armenie, syria, syrie, lebanon, libanon, liban,
    israel, iran, iraq, irak, afghanistan, dubai, emirates, emiraten, emirats, qatar,
    saudi arabia, saoedi arabie, arabie saoudite, jordan, jordanie, jordanie, bali, ibiza,
    tenerife, mallorca, majorque, paris, amsterdam, london, londen, londres, barcelona,
    barcelone, istanbul, casablanca, marrakech, tanger, rome, rotterdam, lille, maastricht
    """
)

BELGIAN_ADJECTIVES = words("belgian, belgisch, belgische, belge, belges")

FOREIGN_ADJECTIVES = words(
    """
    foreign, international, dutch, french, german, british, english, spanish, italian, polish,
    romanian, moroccan, turkish, portuguese, american, congolese, algerian, tunisian, greek,
    luxembourgish, swiss, irish, indian, chinese, brazilian, ukrainian, russian,
    buitenlands, buitenlandse, internationaal, internationale, nederlands, nederlandse,
    hollands, hollandse, frans, franse, duits, duitse, brits, britse, engels, engelse, spaans,
    spaanse, italiaans, italiaanse, pools, poolse, roemeens, roemeense, marokkaans, marokkaanse,
    turks, turkse, portugees, portugese, amerikaans, amerikaanse, congolees, algerijns,
    algerijnse, tunesisch, tunesische, grieks, griekse, luxemburgs, luxemburgse, zwitsers,
    zwitserse, iers, ierse, indisch, indiase, chinees, chinese, braziliaans, oekraiens,
    russisch, russische,
    etranger, etrangere, francais, francaise, neerlandais, neerlandaise, hollandais,
    hollandaise, allemand, allemande, britannique, anglais, anglaise, espagnol, espagnole,
    italien, italienne, polonais, polonaise, roumain, roumaine, marocain, marocaine, turc,
    turque, portugais, portugaise, americain, americaine, congolais, congolaise, algerien,
    algerienne, tunisien, tunisienne, grec, grecque, luxembourgeois, luxembourgeoise, suisse,
    irlandais, irlandaise, indien, indienne, chinois, chinoise, bresilien, bresilienne,
    ukrainien, ukrainienne, russe
    """
)
