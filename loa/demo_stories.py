"""The demo portal's stories: original Vietnamese text, parsed once at import.

Kept apart from :mod:`loa.demo_portal` so the server code stays small.
"""

from __future__ import annotations

from typing import NamedTuple


class Story(NamedTuple):
    """One story of the fixed pool; the feed cycles through the pool forever."""

    category: str
    title: str
    lead: str
    caption: str
    paragraphs: tuple[str, ...]
    author: str


# Original demo text. One field per marker ("@" category, "#" title, "=" lead,
# "!" caption, "-" paragraph, "~" author); indented lines continue a field.
_POOL = """
@ Công tác tuyên giáo
# Đẩy mạnh tuyên truyền chuyển đổi số đến từng khu dân cư
= Ban Tuyên giáo Tỉnh ủy vừa tổ chức hội nghị sơ kết công tác tuyên truyền chuyển đổi số. Hội
  nghị ghi nhận nhiều cách làm mới giúp người dân tiếp cận dịch vụ công trực tuyến nhanh hơn.
! Đại biểu tham quan mô hình tổ công nghệ số cộng đồng tại xã Tam Hòa. Ảnh: T.H
- Sau một năm triển khai, toàn tỉnh đã thành lập hơn 1.200 tổ công nghệ số cộng đồng. Các tổ
  trực tiếp hướng dẫn người dân cài ứng dụng định danh điện tử và nộp hồ sơ trực tuyến.
- Nhiều địa phương biên soạn tài liệu hỏi - đáp ngắn gọn, phát trên loa truyền thanh cơ sở vào
  sáng sớm và chiều tối, khi bà con đã đi làm đồng về.
- Lãnh đạo Ban Tuyên giáo Tỉnh ủy đề nghị các cấp ủy coi chuyển đổi số là nhiệm vụ thường xuyên,
  gắn tuyên truyền với kiểm tra kết quả ở từng thôn, tổ dân phố.
~ THANH HÀ

@ Xây dựng Đảng
# Nâng cao chất lượng sinh hoạt chi bộ ở khu dân cư
= Nhiều chi bộ thôn, tổ dân phố đã đổi mới cách chuẩn bị nội dung, chọn đúng vấn đề người dân
  quan tâm để bàn bạc, nhờ đó buổi sinh hoạt không còn đơn điệu, hình thức.
! Một buổi sinh hoạt chuyên đề của Chi bộ thôn Đông Yên. Ảnh: Q.V
- Trước mỗi kỳ sinh hoạt, chi ủy thôn Đông Yên lấy ý kiến đảng viên về vấn đề cần thảo luận. Gần
  đây, việc làm đường bê tông liên xóm đã được bàn kỹ và thống nhất cách huy động ngày công.
- Bí thư chi bộ cho biết, khi nội dung sát thực tế, đảng viên phát biểu nhiều hơn và nghị quyết
  dễ thực hiện hơn vì có sự đồng thuận ngay từ đầu.
- Ban Tổ chức Tỉnh ủy đánh giá đây là cách làm cần nhân rộng, đồng thời lưu ý các chi bộ theo dõi
  việc thực hiện nghị quyết đến cùng.
- Trong năm, các cấp ủy sẽ kiểm tra chéo chất lượng sinh hoạt tại một số chi bộ chọn ngẫu nhiên.
~ QUỐC VIỆT

@ Kinh tế - Xã hội
# Nông dân vùng trũng chuyển sang mô hình lúa - cá
= Thay vì cấy một vụ lúa bấp bênh, hàng chục hộ dân vùng trũng ven sông đã chuyển sang nuôi cá
  kết hợp trồng lúa, cho thu nhập cao gấp đôi so với trước.
! Nông dân thu hoạch cá trên ruộng lúa vụ đông xuân. Ảnh: V.K
- Người dân được hỗ trợ cá giống, tập huấn kỹ thuật đắp bờ, giữ nước và giảm dùng thuốc bảo vệ
  thực vật theo chương trình khuyến nông của tỉnh.
- Ông Lê Văn Thành, một trong những hộ làm đầu tiên, cho biết mỗi vụ gia đình thu gần hai tấn
  cá, lúa cũng sạch hơn nên bán được giá.
- Ngành nông nghiệp dự kiến mở rộng mô hình thêm 50 ha trong năm tới và kết nối với hợp tác xã
  để bao tiêu sản phẩm.
~ VĂN KHOA

@ Văn hóa
# Phục dựng lễ hội cầu ngư ở làng biển
= Lễ hội cầu ngư truyền thống của ngư dân làng biển vừa được phục dựng với đầy đủ nghi thức,
  thu hút đông đảo người dân và du khách.
! Đoàn thuyền rước trong lễ hội cầu ngư. Ảnh: N.B
- Phần lễ gồm nghi thức nghinh Ông, cầu mong mưa thuận gió hòa, thuyền ra khơi bình an. Phần
  hội có đua thuyền, kéo co, hát bả trạo và nhiều trò chơi dân gian.
- Các bậc cao niên đã góp công khôi phục lời hát, trang phục và trình tự nghi lễ theo lời kể của
  thế hệ trước.
- Ngành văn hóa sẽ lập hồ sơ đề nghị đưa lễ hội vào danh mục di sản văn hóa phi vật thể quốc gia.
~ NGỌC BÍCH

@ Công tác tuyên giáo
# Lan tỏa gương người tốt, việc tốt trong học tập và làm theo Bác
= Ban Chỉ đạo thực hiện Chỉ thị 05 của tỉnh tổ chức gặp mặt, biểu dương 45 tập thể, cá nhân
  điển hình trong học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh.
! Các điển hình tiêu biểu nhận bằng khen tại buổi gặp mặt. Ảnh: M.Q
- Những tấm gương được biểu dương đến từ nhiều lĩnh vực: một cô giáo cắm bản mười lăm năm, một
  tổ hòa giải giữ bình yên cho khu phố, một xưởng nhỏ tạo việc làm cho lao động khuyết tật.
- Ông Nguyễn Văn Lộc, trưởng thôn Phú Mỹ, chia sẻ: “Làm theo Bác là làm tròn việc nhỏ mỗi ngày,
  nói đi đôi với làm để bà con tin”.
- Ban Chỉ đạo đề nghị hệ thống thông tin cơ sở mở chuyên mục riêng, thường xuyên giới thiệu các
  mô hình hay để việc học tập và làm theo Bác đi vào chiều sâu.
~ MINH QUÂN

@ Xây dựng Đảng
# Kết nạp đảng viên là đoàn viên thanh niên ưu tú
= Trong quý I, các tổ chức cơ sở đảng trực thuộc Đảng bộ Khối đã kết nạp 38 đảng viên mới, hơn
  một nửa là đoàn viên thanh niên được đoàn cơ sở giới thiệu.
! Lễ kết nạp đảng viên mới tại Chi bộ Sở Khoa học và Công nghệ. Ảnh: H.N
- Nhiều chi bộ phân công đảng viên giúp đỡ quần chúng ưu tú ngay từ khi mới về công tác, giao
  việc cụ thể để thử thách và rèn luyện.
- Chị Trần Thị Mai, đảng viên trẻ vừa được kết nạp, cho biết chị sẽ cố gắng hoàn thành tốt
  nhiệm vụ chuyên môn được giao.
- Đảng ủy Khối đề nghị các chi bộ quan tâm bồi dưỡng đảng viên dự bị, không chạy theo số lượng
  mà xem nhẹ chất lượng.
~ HẠNH NGUYÊN (TỔNG HỢP)

@ Kinh tế - Xã hội
# Khởi công tuyến đường kết nối các xã miền núi
= Tuyến đường dài 18 km nối ba xã miền núi với quốc lộ đã được khởi công, mở ra cơ hội giao
  thương cho hàng nghìn hộ đồng bào dân tộc thiểu số.
! Các đại biểu thực hiện nghi thức khởi công công trình. Ảnh: Đ.T
- Công trình có tổng vốn hơn 120 tỷ đồng từ ngân sách tỉnh và chương trình mục tiêu quốc gia, dự
  kiến hoàn thành sau hai năm thi công.
- Mùa mưa, nhiều đoạn đường đất bị sạt lở khiến học sinh phải nghỉ học, nông sản không chở ra
  chợ được. Bà con mong tuyến đường sớm về đích.
- Chủ đầu tư cam kết bảo đảm an toàn lao động và công khai tiến độ tại trụ sở các xã.
~ ĐỨC TÂM

@ Văn hóa
# Thư viện lưu động đưa sách về trường vùng cao
= Chuyến xe thư viện lưu động đã mang hơn 2.000 cuốn sách đến các điểm trường vùng cao, nơi
  nhiều em lần đầu được cầm trên tay những cuốn truyện tranh mới.
! Học sinh điểm trường Tà Lang đọc sách bên xe thư viện lưu động. Ảnh: H.Y
- Mỗi chuyến xe dừng lại một buổi, cán bộ thư viện hướng dẫn các em chọn sách, kể chuyện và tổ
  chức đố vui về nội dung vừa đọc.
- Thầy giáo Hồ Văn Sơn cho biết sau mỗi đợt xe về, học sinh đến lớp đều hơn và hào hứng mượn
  sách mang về nhà.
- Thư viện tỉnh dự kiến tăng lên mỗi tháng một chuyến và vận động thêm sách thiếu nhi.
~ HẢI YẾN

@ Công tác tuyên giáo
# Bồi dưỡng nghiệp vụ cho đội ngũ báo cáo viên cơ sở
= Hơn 150 báo cáo viên, tuyên truyền viên các huyện, thị xã, thành phố vừa tham gia lớp bồi
  dưỡng nghiệp vụ ba ngày do Ban Tuyên giáo Tỉnh ủy tổ chức.
! Quang cảnh lớp bồi dưỡng báo cáo viên cơ sở. Ảnh: P.L
- Học viên được trang bị kỹ năng nắm bắt tình hình tư tưởng, xử lý thông tin sai lệch trên mạng
  xã hội và cách trình bày ngắn gọn, dễ hiểu trước đông người.
- Điểm mới năm nay là phần thực hành: mỗi nhóm xây dựng một bài nói chuyện mười phút về chủ đề
  gần gũi với đời sống và được giảng viên góp ý trực tiếp.
- Nhiều ý kiến đề nghị tổ chức thêm các buổi sinh hoạt chuyên đề hằng quý để cập nhật thời sự.
~ PHƯƠNG LINH

@ Xây dựng Đảng
# Tăng cường kiểm tra, giám sát việc thực hiện nghị quyết
= Ủy ban Kiểm tra Tỉnh ủy triển khai chương trình kiểm tra, giám sát năm nay, trọng tâm là việc
  cụ thể hóa nghị quyết thành kế hoạch có địa chỉ và thời hạn rõ ràng.
! Đoàn kiểm tra làm việc với Đảng ủy xã An Phước. Ảnh: T.B
- Các đoàn sẽ làm việc với 24 tổ chức đảng, tập trung vào quản lý đất đai, đầu tư công và mua
  sắm tài sản, những lĩnh vực dễ phát sinh vi phạm.
- Đại diện Ủy ban Kiểm tra nhấn mạnh, giám sát phải đi trước một bước để kịp thời nhắc nhở, không
  để sai phạm nhỏ tích tụ thành vi phạm lớn.
- Kết quả kiểm tra là căn cứ đánh giá, xếp loại chất lượng tổ chức đảng cuối năm.
~ THÁI BẢO

@ Kinh tế - Xã hội
# Hỗ trợ người lao động tìm việc làm sau Tết
= Trung tâm Dịch vụ việc làm tỉnh tổ chức phiên giao dịch việc làm lưu động với 40 doanh nghiệp
  tham gia, cung cấp gần 3.000 vị trí tuyển dụng.
! Người lao động tìm hiểu thông tin tuyển dụng tại phiên giao dịch. Ảnh: L.A
- Các vị trí tập trung ở ngành may mặc, chế biến gỗ, điện tử và du lịch, lương khởi điểm từ 6
  đến 9 triệu đồng mỗi tháng.
- Ban tổ chức còn tư vấn học nghề, vay vốn giải quyết việc làm và thủ tục bảo hiểm thất nghiệp.
- Nhiều lao động trẻ muốn làm việc gần nhà thay vì đi tỉnh xa như trước, khi các khu công nghiệp
  trong tỉnh đang mở rộng.
~ LAN ANH

@ Văn hóa
# Gìn giữ nghề dệt thổ cẩm của đồng bào Cơ Tu
= Giữa nhịp sống hiện đại, những người phụ nữ Cơ Tu ở các xã vùng cao vẫn miệt mài bên khung
  dệt, giữ gìn hoa văn truyền thống của cha ông.
! Nghệ nhân hướng dẫn thanh niên dệt thổ cẩm. Ảnh: A.Đ
- Hợp tác xã dệt của thôn có 30 thành viên, mỗi tháng làm ra hàng trăm chiếc khăn, túi xách, váy
  áo phục vụ khách du lịch.
- Các nghệ nhân lớn tuổi dạy nghề cho lớp trẻ, vừa truyền kỹ thuật đính hạt cườm, vừa kể ý nghĩa
  từng họa tiết gắn với núi rừng.
- Chính quyền địa phương đang hỗ trợ hợp tác xã xây dựng nhãn hiệu và đưa sản phẩm lên sàn
  thương mại điện tử.
~ ALĂNG ĐÔNG
"""


def _parse_pool(text: str) -> tuple[Story, ...]:
    stories = []
    for block in text.strip().split("\n\n"):
        fields: list[list[str]] = []
        for line in block.splitlines():
            if line.startswith("  "):
                fields[-1][1] += " " + line.strip()
            else:
                fields.append([line[0], line[2:].strip()])
        by_mark: dict[str, list[str]] = {}
        for mark, value in fields:
            by_mark.setdefault(mark, []).append(value)
        first = {mark: values[0] for mark, values in by_mark.items()}
        stories.append(
            Story(first["@"], first["#"], first["="], first["!"], tuple(by_mark["-"]), first["~"])
        )
    return tuple(stories)


STORIES = _parse_pool(_POOL)
